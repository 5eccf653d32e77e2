"""Publishing swaps whole files atomically, keeps snapshots and rolls back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.config import resolve_settings
from flows.publish.release import (
    NoEarlierSnapshot,
    discard_interrupted_publication,
    keep_snapshot,
    publish_candidate,
    published_run_id,
    rollback,
    snapshots,
)


def _candidate(path: Path, run_id: str, total: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA ops; CREATE SCHEMA marts")
        connection.execute(
            "CREATE TABLE ops.runs AS SELECT ? AS run_id, now() AS started_at, "
            "NULL::TIMESTAMP AS finished_at, 'running' AS status",
            [run_id],
        )
        connection.execute("CREATE TABLE marts.t AS SELECT ? AS total", [total])
    return path


def _published_total(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("SELECT total FROM marts.t").fetchone()[0]


@pytest.fixture
def settings(tmp_path: Path):
    return resolve_settings(data_dir=tmp_path / "data", keep_snapshots=2)


def _publish(settings, run_id: str, total: int) -> None:
    candidate = _candidate(settings.candidates_dir / f"{run_id}.duckdb", run_id, total)
    publish_candidate(settings, candidate, run_id)


def _status_of_run(path: Path, run_id: str) -> str:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(
            "SELECT status FROM ops.runs WHERE run_id = ?", [run_id]
        ).fetchone()[0]


def test_a_run_is_marked_published_only_in_the_database_that_is_published(settings):
    candidate = _candidate(settings.candidates_dir / "c.duckdb", "20260101T000000Z-a", 10)
    assert _status_of_run(candidate, "20260101T000000Z-a") == "running"  # what the gates audit

    publish_candidate(settings, candidate, "20260101T000000Z-a")

    assert _status_of_run(settings.published_db, "20260101T000000Z-a") == "published"


def test_publishing_replaces_the_file_and_keeps_a_snapshot(settings):
    _publish(settings, "20260101T000000Z-a", 10)
    _publish(settings, "20260102T000000Z-b", 20)

    assert _published_total(settings.published_db) == 20
    assert published_run_id(settings) == "20260102T000000Z-b"
    assert [p.name for p in snapshots(settings)] == [
        "warehouse-20260101T000000Z-a.duckdb",
        "warehouse-20260102T000000Z-b.duckdb",
    ]
    assert not list(settings.candidates_dir.iterdir())


def test_an_open_reader_keeps_the_state_it_opened(settings):
    _publish(settings, "20260101T000000Z-a", 10)
    reader = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        _publish(settings, "20260102T000000Z-b", 20)
        assert reader.execute("SELECT total FROM marts.t").fetchone() == (10,)
    finally:
        reader.close()
    assert _published_total(settings.published_db) == 20


def test_only_the_configured_number_of_snapshots_is_kept(settings):
    for day, total in ((1, 10), (2, 20), (3, 30)):
        _publish(settings, f"2026010{day}T000000Z-x", total)

    assert [p.name[10:18] for p in snapshots(settings)] == ["20260102", "20260103"]


def test_rollback_republishes_the_previous_database_step_by_step(settings):
    for day, total in ((1, 10), (2, 20)):
        _publish(settings, f"2026010{day}T000000Z-x", total)

    assert rollback(settings) == "20260101T000000Z-x"
    assert _published_total(settings.published_db) == 10
    with pytest.raises(NoEarlierSnapshot):
        rollback(settings)
    assert _published_total(settings.published_db) == 10


def test_the_snapshot_of_a_run_killed_before_its_swap_is_discarded_and_never_rolled_back_to(
    settings,
):
    _publish(settings, "20260101T000000Z-a", 10)
    killed = _candidate(settings.candidates_dir / "b.duckdb", "20260102T000000Z-b", 99)
    keep_snapshot(settings, killed, "20260102T000000Z-b")  # then killed: never swapped in

    discard_interrupted_publication(settings, ["20260102T000000Z-b"])
    _publish(settings, "20260103T000000Z-c", 30)

    assert rollback(settings) == "20260101T000000Z-a"
    assert _published_total(settings.published_db) == 10


def test_the_snapshot_of_a_run_killed_after_its_swap_is_kept(settings):
    _publish(settings, "20260101T000000Z-a", 10)  # then killed before it finished

    discard_interrupted_publication(settings, ["20260101T000000Z-a"])

    assert [p.name for p in snapshots(settings)] == ["warehouse-20260101T000000Z-a.duckdb"]


def test_a_database_killed_on_its_way_in_is_removed_from_beside_the_published_one(settings):
    _publish(settings, "20260101T000000Z-a", 10)
    half_swapped = settings.published_dir / ".20260102T000000Z-b.duckdb.incoming"
    half_swapped.write_bytes(b"a candidate renamed into published/, then killed")
    published = settings.published_db.read_bytes()

    discard_interrupted_publication(settings, ["20260102T000000Z-b"])

    assert sorted(p.name for p in settings.published_dir.iterdir()) == ["warehouse.duckdb"]
    assert settings.published_db.read_bytes() == published
