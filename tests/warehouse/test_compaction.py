"""The warehouse file is compacted at the end of a refresh, and only when a table needs it:
DuckDB's compaction at every checkpoint rewrote what each refresh had just appended."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from flows.config import resolve_settings
from flows.ops import runs
from flows.ops.runs import finish_run, start_run
from flows.warehouse.compaction import (
    ROW_GROUP_ROWS,
    SPARE_ROW_GROUPS,
    TableLayout,
    table_layouts,
)
from flows.warehouse.connection import connect

ROOT = Path(__file__).resolve().parents[2]


def _layout(path: Path, table: str) -> TableLayout:
    with connect(path, read_only=True) as connection:
        return next(t for t in table_layouts(connection) if t.name == table)


def _table_with_two_thirds_deleted(path: Path, rows: int) -> None:
    """Deleted rows spread over every row group: none of them is left empty."""
    with connect(path) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS raw")
        connection.execute(
            f"CREATE TABLE raw.answers AS SELECT i, md5(i::VARCHAR) AS a FROM range({rows}) r(i)"
        )
    with connect(path) as connection:
        connection.execute("DELETE FROM raw.answers WHERE i % 3 <> 0")


def _table_of_small_appends(path: Path, appends: int) -> None:
    with connect(path) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS raw")
        connection.execute("CREATE TABLE raw.answers (i BIGINT, a VARCHAR)")
    for n in range(appends):
        with connect(path) as connection:
            connection.execute(f"INSERT INTO raw.answers VALUES ({n}, 'night {n}')")


def test_a_writable_connection_does_not_compact_at_its_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _table_with_two_thirds_deleted(path, rows=3 * ROW_GROUP_ROWS)

    layout = _layout(path, "raw.answers")

    assert (layout.rows, layout.stored_rows) == (ROW_GROUP_ROWS, 3 * ROW_GROUP_ROWS)


def test_a_list_column_is_counted_by_rows_not_by_elements(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with connect(path) as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute(
            'CREATE TABLE raw."themes of a story" AS '
            "SELECT [i, i + 1, i + 2] AS themes, i FROM range(300000) r(i)"
        )

    layout = _layout(path, "raw.themes of a story")

    assert (layout.rows, layout.stored_rows, layout.row_groups) == (300_000, 300_000, 3)


def test_a_row_group_of_deleted_rows_that_is_a_tenth_of_the_table_needs_compaction() -> None:
    def layout(stored: int, deleted: int) -> TableLayout:
        return TableLayout("raw.answers", stored - deleted, stored, stored // ROW_GROUP_ROWS + 1)

    assert layout(stored=1_000_000, deleted=ROW_GROUP_ROWS).needs_compaction()
    assert not layout(stored=1_000_000, deleted=ROW_GROUP_ROWS - 1).needs_compaction()
    assert not layout(stored=5_000_000, deleted=ROW_GROUP_ROWS).needs_compaction()  # 2.5 %
    assert not layout(stored=1_000, deleted=1_000).needs_compaction()  # nothing to speak of


def test_many_more_row_groups_than_the_rows_need_call_for_compaction() -> None:
    needed = 1_000_000 // ROW_GROUP_ROWS + 1
    spare = needed + SPARE_ROW_GROUPS

    assert not TableLayout("raw.answers", 1_000_000, 1_000_000, spare).needs_compaction()
    assert TableLayout("raw.answers", 1_000_000, 1_000_000, spare + 1).needs_compaction()


def test_finishing_a_run_compacts_a_table_with_many_deleted_rows(tmp_path: Path) -> None:
    settings = resolve_settings(data_dir=tmp_path / "data")
    start_run(settings, "r1")
    _table_with_two_thirds_deleted(settings.internal_db, rows=3 * ROW_GROUP_ROWS)

    finish_run(settings, "r1", "published")

    layout = _layout(settings.internal_db, "raw.answers")
    assert (layout.rows, layout.stored_rows) == (ROW_GROUP_ROWS, ROW_GROUP_ROWS)


def test_finishing_a_run_compacts_the_small_row_groups_of_many_nights(tmp_path: Path) -> None:
    settings = resolve_settings(data_dir=tmp_path / "data")
    start_run(settings, "r1")
    _table_of_small_appends(settings.internal_db, appends=SPARE_ROW_GROUPS + 2)
    assert _layout(settings.internal_db, "raw.answers").needs_compaction()

    finish_run(settings, "r1", "published")

    assert _layout(settings.internal_db, "raw.answers").row_groups == 1


def test_finishing_a_run_leaves_tables_that_need_no_compaction_as_they_are(
    tmp_path: Path,
) -> None:
    settings = resolve_settings(data_dir=tmp_path / "data")
    start_run(settings, "r1")
    _table_of_small_appends(settings.internal_db, appends=3)

    finish_run(settings, "r1", "published")

    assert _layout(settings.internal_db, "raw.answers").row_groups == 3
    with duckdb.connect(str(settings.internal_db), read_only=True) as connection:
        assert connection.execute("SELECT status FROM ops.runs").fetchall() == [("published",)]


def test_a_compaction_that_cannot_be_checked_never_costs_the_run_its_status(
    tmp_path: Path, monkeypatch
) -> None:
    def broken(connection: duckdb.DuckDBPyConnection) -> list[str]:
        raise duckdb.IOException("storage info unreadable")

    monkeypatch.setattr(runs, "compact_at_close_when_due", broken)
    settings = resolve_settings(data_dir=tmp_path / "data")
    start_run(settings, "r1")

    finish_run(settings, "r1", "published")

    with duckdb.connect(str(settings.internal_db), read_only=True) as connection:
        assert connection.execute("SELECT status FROM ops.runs").fetchall() == [("published",)]


def test_dbt_does_not_compact_at_its_checkpoints_either() -> None:
    profile = yaml.safe_load((ROOT / "dbt_project" / "profiles.yml").read_text())
    assert profile["fmw"]["outputs"]["internal"]["settings"]["max_vacuum_tasks"] == 0
