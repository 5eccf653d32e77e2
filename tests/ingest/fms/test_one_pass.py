"""An export whose first rows are mostly new is validated as it is read
(flows.ingest.fms.one_pass): the warehouse ends up exactly as if the export had been staged
first and its remembered rows set aside, row numbers and all."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from flows.config import DEFAULT_INGEST_LIMITS
from flows.form.xlsform import Form
from flows.ingest import landing_zone
from flows.ingest.fms import one_pass
from flows.ingest.fms.read import CsvReading, StagedFile, csv_header, plan_for, staged_view
from flows.ingest.landing_zone import ingest_landing_zone
from flows.warehouse.schema import ensure_schema
from tests.helpers.ingest_state import ingest_decisions
from tests.helpers.kobo_files import submission, write_csv


def _export(count: int) -> list[dict[str, str]]:
    """Valid rows with, spread through the file, broken ones, repeats and conflicts."""
    rows = []
    for n in range(count):
        answers = {"_id": str(n)}
        if n % 997 == 0:
            answers["profile/age"] = "x"  # quarantined
        if n % 1009 == 0:
            answers["intro/fmp"] = "NOWHERE"  # quarantined
        rows.append(submission(f"u{n:06d}", **answers))
        if n % 503 == 0:
            rows.append(submission(f"u{n:06d}", _id=str(n)))  # a repeat or a conflict
    return rows


def _ingest(tmp_path: Path, form: Form, rows: list[dict[str, str]], name: str) -> dict:
    landing = tmp_path / f"landing-{name}"
    export = write_csv(landing / "fms" / "export.csv", rows)
    os.utime(export, (1_700_000_000, 1_700_000_000))
    connection = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
    ensure_schema(connection, form)
    ingest_landing_zone(connection, form, landing, "r1")
    state = ingest_decisions(connection)
    assert _temporary_tables_and_views(connection) == []
    connection.close()
    return state


def _temporary_tables_and_views(connection: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
        ).fetchall()
    ]


def _validated_as_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    validated: list[str] = []
    real = landing_zone.stage_export

    def spy(connection, form, path, limits):
        staged = real(connection, form, path, limits)
        if staged.validated_in_one_pass:
            validated.append(path.name)
        return staged

    monkeypatch.setattr(landing_zone, "stage_export", spy)
    return validated


def _same_as_staging_first(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, str]]
) -> None:
    validated = _validated_as_read(monkeypatch)
    in_one_pass = _ingest(tmp_path, form, rows, "one-pass")
    assert validated == ["export.csv"]

    monkeypatch.setattr(landing_zone, "stage_export", one_pass.stage_file)  # the spy too
    staged_first = _ingest(tmp_path, form, rows, "staged-first")

    assert in_one_pass == staged_first
    assert in_one_pass["quarantine"], "the export has rows to quarantine"


def test_an_export_validated_as_it_is_read_ends_as_if_it_was_staged_first(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_staging_first(tmp_path, form, monkeypatch, _export(3_000))


@pytest.mark.slow
def test_rows_read_on_both_cores_keep_their_numbers_in_the_file(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large enough for DuckDB to read it in parallel, where an order-breaking plan misnumbers.
    _same_as_staging_first(tmp_path, form, monkeypatch, _export(150_000))


def _monday_then_tuesday(
    tmp_path: Path, form: Form, monday: list[dict[str, str]], tuesday: list[dict[str, str]]
) -> dict:
    name = f"{len(list(tmp_path.iterdir()))}"
    landing = tmp_path / f"landing-{name}"
    connection = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
    ensure_schema(connection, form)
    for night, (file_name, rows) in enumerate([("mon.csv", monday), ("tue.csv", tuesday)]):
        export = write_csv(landing / "fms" / file_name, rows)
        os.utime(export, (1_700_000_000 + night, 1_700_000_000 + night))
        ingest_landing_zone(connection, form, landing, f"night{night}")
    state = ingest_decisions(connection)
    assert _temporary_tables_and_views(connection) == []
    connection.close()
    return state


def test_rows_held_as_delivered_end_the_same_validated_in_one_pass_or_set_aside(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_hold = {"_validation_status": "validation_status_on_hold"}
    monday = [submission(f"u{n}") for n in range(1, 5)] + [submission("u5", **on_hold)]
    tuesday = [
        submission("u6"),  # new
        submission("u1"),  # held as delivered
        submission("u2", **on_hold),  # a changed version replaces the held one
        submission("u3"),  # held as delivered, and in conflict with the next row
        submission("u3", **{"profile/age": "41"}),
        submission(None),  # no _uuid
        submission("u4", **{"profile/age": "x"}),  # quarantined, u4 stays as held
        submission("u5"),  # the version before supervision comes back
        submission("u1"),  # a repeat within the file
    ]
    validated = _validated_as_read(monkeypatch)
    monkeypatch.setattr(one_pass, "_REMEMBERED_SHARE_TO_STAGE", 0)  # always staged
    set_aside = _monday_then_tuesday(tmp_path, form, monday, tuesday)
    assert validated == []
    monkeypatch.setattr(one_pass, "_REMEMBERED_SHARE_TO_STAGE", 2)  # never staged
    in_one_pass = _monday_then_tuesday(tmp_path, form, monday, tuesday)
    assert validated == ["mon.csv", "tue.csv"]

    assert in_one_pass == set_aside
    assert [load[1:] for load in set_aside["loads"]] == [
        ("loaded", 5, 5, 0, 0),
        ("loaded", 9, 3, 2, 4),
    ]


def _ingest_monday_with_u1_and_u2(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path
) -> None:
    monday = write_csv(landing / "fms" / "mon.csv", [submission("u1"), submission("u2")])
    os.utime(monday, (1_700_000_000, 1_700_000_000))
    ingest_landing_zone(warehouse, form, landing, "r1")


def test_an_export_that_starts_with_remembered_rows_is_staged_to_skip_them(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path, monkeypatch
) -> None:
    validated = _validated_as_read(monkeypatch)
    _ingest_monday_with_u1_and_u2(warehouse, form, landing)
    write_csv(landing / "fms" / "tue.csv", [submission("u1"), submission("u2"), submission("u3")])
    ingest_landing_zone(warehouse, form, landing, "r2")

    assert validated == ["mon.csv"]
    assert warehouse.execute(
        "SELECT rows_loaded, rows_duplicate FROM ops.file_loads WHERE file_name = 'tue.csv'"
    ).fetchone() == (1, 2)


def test_duckdb_reads_the_validation_in_file_order_with_its_default_optimizers(
    tmp_path: Path, form: Form
) -> None:
    # an IN list of constants would be planned as a join, which may reorder rows: the
    # validation looks its choices up in lists
    export = write_csv(tmp_path / "export.csv", _export(10))
    header, delimiter = csv_header(export)
    reading = CsvReading(
        header, delimiter, plan_for(form, header), DEFAULT_INGEST_LIMITS.max_cell_bytes
    )
    staged = StagedFile(
        0, reading.plan, staged_view(form, reading.plan, "NULL"), csv_reading=reading
    )
    query = one_pass.one_pass_sql(form, staged, export)
    connection = duckdb.connect()

    assert one_pass.plan_operators(connection, query) == {"READ_CSV", "PROJECTION"}


def test_a_plan_that_could_reorder_rows_stages_the_export_instead(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(one_pass, "_ORDER_KEEPING_OPERATORS", {"READ_CSV"})
    export = write_csv(tmp_path / "export.csv", _export(10))
    connection = duckdb.connect()
    ensure_schema(connection, form)

    staged = one_pass.stage_export(connection, form, export)

    assert not staged.validated_in_one_pass
    assert connection.execute("SELECT count(*) FROM fms_staged").fetchone() == (staged.rows_read,)


def test_an_export_with_few_remembered_rows_at_its_head_is_validated_whole_once(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path, monkeypatch
) -> None:
    validated = _validated_as_read(monkeypatch)
    _ingest_monday_with_u1_and_u2(warehouse, form, landing)
    newest_first = [submission(uuid) for uuid in ("u3", "u4", "u5", "u1", "u2")]
    write_csv(landing / "fms" / "tue.csv", newest_first)

    ingest_landing_zone(warehouse, form, landing, "r2")

    assert validated == ["mon.csv", "tue.csv"]
    assert warehouse.execute(
        "SELECT rows_loaded, rows_duplicate FROM ops.file_loads WHERE file_name = 'tue.csv'"
    ).fetchone() == (3, 2)
    assert warehouse.execute(
        "SELECT _uuid, count(*) FROM raw.fms_deliveries GROUP BY ALL ORDER BY 1"
    ).fetchall() == [(f"u{n}", 1) for n in range(1, 6)]


def test_a_ragged_export_is_read_row_by_row(tmp_path: Path, form: Form) -> None:
    export = write_csv(tmp_path / "export.csv", _export(10))
    export.write_text(export.read_text("utf-8-sig") + "too;few;fields\r\n", "utf-8")
    connection = duckdb.connect()
    ensure_schema(connection, form)

    staged = one_pass.stage_export(connection, form, export)

    assert not staged.validated_in_one_pass
    assert [m.row_number for m in staged.malformed] == [staged.rows_read]
    assert "fms_validated" not in _temporary_tables_and_views(connection)


def test_an_export_with_line_breaks_in_cells_is_read_row_by_row_as_staging_reads_it(
    tmp_path: Path, form: Form
) -> None:
    rows = _export(10)
    rows[3]["_notes"] = "first line\nsecond line"
    export = write_csv(tmp_path / "export.csv", rows)
    connection = duckdb.connect()
    ensure_schema(connection, form)

    staged = one_pass.stage_export(connection, form, export)

    assert not staged.validated_in_one_pass and staged.csv_reading is None
    assert staged.rows_read == len(rows)
    assert "fms_validated" not in _temporary_tables_and_views(connection)
