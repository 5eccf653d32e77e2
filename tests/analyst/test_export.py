"""`fmw export`: CSV, Parquet and XLSX, with an HXL hashtag row that libhxl accepts."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import hxl
import openpyxl
import pytest

from flows.analyst.export import ExportError, export_table, hxl_tag
from tests.helpers.hxl_validation import validate_hxl
from tests.helpers.published_files import HOSTILE_FILE_NAME, write_data_dir


@pytest.fixture
def published(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute(
            """
            CREATE TABLE marts.fms_corridor_monthly AS
            SELECT DATE '2026-03-01' AS month, 'outflow' AS direction, 'LA-LM' AS origin_adm1_code,
                   'CHN' AS dest_country_iso3, 12 AS respondents, 7 AS female_respondents,
                   false AS suppressed
            UNION ALL
            SELECT DATE '2026-03-01', 'inflow', 'LA-PH', 'CHN', NULL, NULL, true
            """
        )
    return path


def test_csv_export_with_hxl_passes_libhxl_validation(published, tmp_path):
    out = export_table(published, "marts.fms_corridor_monthly", "csv", tmp_path / "c.csv", hxl=True)

    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[1][2:6] == [
        "#adm1+code+origin",
        "#country+code+destination",
        "#affected",
        "#affected+f",
    ]
    assert rows[3] == ["2026-03-01", "inflow", "LA-PH", "CHN", "", "", "True"]
    assert validate_hxl(out)["is_valid"] is True


def test_xlsx_export_with_hxl_passes_libhxl_validation(published, tmp_path):
    out = export_table(
        published, "marts.fms_corridor_monthly", "xlsx", tmp_path / "c.xlsx", hxl=True
    )

    sheet = openpyxl.load_workbook(out).active
    assert sheet.cell(2, 1).value == "#date+month"
    assert validate_hxl(out)["is_valid"] is True


def test_an_export_without_hxl_is_not_hxl(published, tmp_path):
    out = export_table(published, "marts.fms_corridor_monthly", "csv", tmp_path / "plain.csv")
    with pytest.raises(hxl.HXLException):
        validate_hxl(out)


def test_parquet_export_keeps_types(published, tmp_path):
    out = export_table(published, "marts.fms_corridor_monthly", "parquet", tmp_path / "c.parquet")

    types = duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall()
    assert [(name, kind) for name, kind, *_ in types][:2] == [
        ("month", "DATE"),
        ("direction", "VARCHAR"),
    ]


def test_every_column_gets_a_hashtag():
    assert hxl_tag("respondents") == "#affected"
    assert hxl_tag("share_with_passport") == "#meta+share_with_passport"


@pytest.mark.parametrize("table", ["marts.nope", "nope", "marts.t; drop table x"])
def test_unknown_or_malformed_tables_are_refused(published, tmp_path, table):
    with pytest.raises(ExportError):
        export_table(published, table, "csv", tmp_path / "x.csv")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_data_dir(tmp_path / "data")
    return tmp_path / "data"


def _file_names(rows: list[list[object]]) -> list[object]:
    return [row[1] for row in rows[1:]]


NEUTRALISED_FILE_NAMES = [
    "export_2026-03.csv",
    "'" + HOSTILE_FILE_NAME,
    "'+cmd|calc.csv",
    "'@SUM(1+1).csv",
    "'-2+3.csv",
    "'\tx.csv",
    "'\rx.csv",
]


def test_csv_export_neutralises_text_that_would_start_a_formula(data_dir, tmp_path):
    published = data_dir / "published" / "warehouse.duckdb"
    out = export_table(published, "ops.file_loads", "csv", tmp_path / "loads.csv")

    rows = list(csv.reader(out.open(encoding="utf-8", newline="")))
    assert _file_names(rows) == NEUTRALISED_FILE_NAMES
    assert rows[2][3:7] == ["2", "0", "0", "2"]  # numbers stay numbers


def test_csv_export_keeps_negative_numbers_as_numbers(data_dir, tmp_path):
    published = data_dir / "published" / "warehouse.duckdb"
    out = export_table(published, "marts.fmr_daily_flows", "csv", tmp_path / "flows.csv")

    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[1] == ["2026-03-01", "LAO_FMP_001", "outflow", "-3"]


def test_xlsx_export_writes_text_as_strings_never_formulas(data_dir, tmp_path):
    published = data_dir / "published" / "warehouse.duckdb"
    out = export_table(published, "ops.file_loads", "xlsx", tmp_path / "loads.xlsx", hxl=True)

    sheet = openpyxl.load_workbook(out).active
    cells = [sheet.cell(row, 2) for row in range(3, sheet.max_row + 1)]
    # XML reads a carriage return back as a line feed: the quote in front is what counts
    assert [c.value for c in cells] == [n.replace("\r", "\n") for n in NEUTRALISED_FILE_NAMES]
    assert {c.data_type for c in cells} == {"s"}
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert sheet.cell(4, 4).value == 2 and sheet.cell(4, 4).data_type == "n"


def test_xlsx_export_keeps_numbers_and_dates_typed(data_dir, tmp_path):
    published = data_dir / "published" / "warehouse.duckdb"
    out = export_table(published, "marts.fmr_daily_flows", "xlsx", tmp_path / "flows.xlsx")

    sheet = openpyxl.load_workbook(out).active
    assert sheet.cell(2, 4).value == -3 and sheet.cell(2, 4).data_type == "n"
    assert sheet.cell(2, 1).is_date


def test_xlsx_export_survives_characters_xlsx_cannot_hold(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA ops")
        connection.execute("CREATE TABLE ops.file_loads AS SELECT 'a' || chr(1) || 'b' AS f")
    out = export_table(path, "ops.file_loads", "xlsx", tmp_path / "x.xlsx")

    assert openpyxl.load_workbook(out).active.cell(2, 1).value == "a\ufffdb"


@pytest.mark.parametrize(
    "name",
    [
        "it's here.parquet",
        "x.parquet' (FORMAT csv); ATTACH 'stolen.duckdb' AS s; COPY (SELECT 1) TO 'y.parquet",
        "x.parquet' (FORMAT parquet); COPY (SELECT 1) TO 'pwned.csv",
    ],
)
def test_parquet_export_takes_any_path_as_a_path(published, tmp_path, name, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a pasted second statement would write
    out = tmp_path / "out" / name
    export_table(published, "marts.fms_corridor_monthly", "parquet", out)

    assert out.exists()
    assert duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone() == (2,)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "warehouse.duckdb"]


def test_parquet_export_replaces_an_earlier_file(published, tmp_path):
    out = tmp_path / "c.parquet"
    out.write_text("old")
    export_table(published, "marts.fms_corridor_monthly", "parquet", out)
    assert duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone() == (2,)


def test_the_cli_exports_hostile_names_neutralised(data_dir, tmp_path, capsys):
    from flows.cli import main

    out = tmp_path / "loads.csv"
    args = ["export", "ops.file_loads", "--format", "csv", "--out", str(out)]
    assert main([*args, "--data-dir", str(data_dir)]) == 0
    assert "'" + HOSTILE_FILE_NAME in out.read_text(encoding="utf-8").replace('""', '"')
