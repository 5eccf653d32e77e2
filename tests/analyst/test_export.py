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
