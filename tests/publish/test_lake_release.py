"""Publishing on the lake: one snapshot per audited candidate, rollback by time travel."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.config import Settings, resolve_settings
from flows.publish.lake_release import (
    PUBLISH,
    ROLLBACK,
    connect_published,
    publications,
    publish_to_lake,
    published_run_id_in_lake,
)
from flows.publish.release import NoEarlierSnapshot, rollback
from flows.warehouse.lake import PUBLISHED, connect_analyst, lake_of


def _settings(lake, tmp_path: Path) -> Settings:  # noqa: ANN001 - LakeUnderTest
    return resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=str(lake.data))


def _candidate(tmp_path: Path, run_id: str, respondents: int, extra_table: bool = False) -> Path:
    """A candidate as flows.publish.candidate builds it: marts and ops, with comments."""
    path = tmp_path / f"candidate-{run_id}.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE SCHEMA ops")
        connection.execute(
            "CREATE TABLE marts.corridor AS SELECT DATE '2026-01-01' AS month, ? AS respondents",
            [respondents],
        )
        connection.execute("COMMENT ON TABLE marts.corridor IS 'survey respondents per corridor'")
        connection.execute("COMMENT ON COLUMN marts.corridor.respondents IS 'NULL when below k'")
        if extra_table:
            connection.execute("CREATE TABLE marts.extra AS SELECT 1 AS x")
        connection.execute(
            "CREATE TABLE ops.runs AS SELECT ? AS run_id, now()::TIMESTAMP AS started_at, "
            "'published' AS status",
            [run_id],
        )
    return path


def _respondents(settings: Settings) -> int:
    with connect_analyst(lake_of(settings, PUBLISHED, read_only=True)) as connection:
        return connection.execute("SELECT respondents FROM marts.corridor").fetchone()[0]


def _tables(settings: Settings) -> set[str]:
    with connect_published(settings) as connection:
        rows = connection.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE database_name = 'lake'"
        ).fetchall()
    return {name for (name,) in rows}


def test_each_publication_is_one_snapshot_that_names_its_run(lake, tmp_path):
    settings = _settings(lake, tmp_path)
    assert published_run_id_in_lake(settings) is None
    first = publish_to_lake(settings, _candidate(tmp_path, "20260101T000000Z-a", 10), "r1")
    second = publish_to_lake(settings, _candidate(tmp_path, "20260102T000000Z-b", 20), "r2")
    assert second > first
    with connect_published(settings) as connection:
        kept = publications(connection)
        comment = connection.execute(
            "SELECT comment FROM duckdb_columns() WHERE database_name = 'lake' "
            "AND table_name = 'corridor' AND column_name = 'respondents'"
        ).fetchone()
        then = connection.execute(
            f"SELECT respondents FROM marts.corridor AT (VERSION => {first})"
        ).fetchone()
    assert [(p.snapshot_id, p.kind, p.run_id) for p in kept] == [
        (first, PUBLISH, "r1"),
        (second, PUBLISH, "r2"),
    ]
    assert comment == ("NULL when below k",)
    assert then == (10,)
    assert _respondents(settings) == 20
    assert published_run_id_in_lake(settings) == "20260102T000000Z-b"


def test_a_table_left_out_of_the_next_candidate_is_no_longer_published(lake, tmp_path):
    settings = _settings(lake, tmp_path)
    publish_to_lake(settings, _candidate(tmp_path, "20260101T000000Z-a", 10, True), "r1")
    assert "marts.extra" in _tables(settings)
    publish_to_lake(settings, _candidate(tmp_path, "20260102T000000Z-b", 20), "r2")
    assert _tables(settings) == {"marts.corridor", "ops.runs"}


def test_rollback_goes_back_one_publication_at_a_time(lake, tmp_path):
    settings = _settings(lake, tmp_path)
    for day, respondents in ((1, 10), (2, 20), (3, 30)):
        run_id = f"2026010{day}T000000Z-{day}"
        publish_to_lake(settings, _candidate(tmp_path, run_id, respondents, day == 1), run_id)
    assert rollback(settings) == "20260102T000000Z-2"
    assert _respondents(settings) == 20
    assert rollback(settings) == "20260101T000000Z-1"
    assert _respondents(settings) == 10
    assert "marts.extra" in _tables(settings)  # the tables as they were then, comments too
    with connect_published(settings) as connection:
        kinds = [p.kind for p in publications(connection)]
        comment = connection.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'corridor'"
        ).fetchone()
    assert kinds == [PUBLISH, PUBLISH, PUBLISH, ROLLBACK, ROLLBACK]
    assert comment == ("survey respondents per corridor",)
    with pytest.raises(NoEarlierSnapshot):
        rollback(settings)
    assert _respondents(settings) == 10


def test_a_publication_that_fails_half_way_changes_nothing(lake, tmp_path, monkeypatch):
    settings = _settings(lake, tmp_path)
    publish_to_lake(settings, _candidate(tmp_path, "20260101T000000Z-a", 10), "r1")
    import flows.publish.lake_release as lake_release

    def broken(connection, comments):  # noqa: ANN001 - after every table was copied
        raise RuntimeError("disk full")

    monkeypatch.setattr(lake_release, "_apply_comments", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        publish_to_lake(settings, _candidate(tmp_path, "20260102T000000Z-b", 20, True), "r2")
    assert _respondents(settings) == 10
    assert _tables(settings) == {"marts.corridor", "ops.runs"}
    with connect_published(settings) as connection:
        assert [p.run_id for p in publications(connection)] == ["r1"]
