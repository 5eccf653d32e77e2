"""Publish an audited candidate (flows.publish.candidate): swap it in, keep snapshots, roll back.

The candidate is built next to the internal database (same file system as the published
one), audited by the caller, and only then renamed over the published file. A rename is
atomic: a reader opens either the old file or the new one, and sessions already open keep
reading the old one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from flows.config import Settings
from flows.warehouse.connection import connect
from flows.warehouse.permissions import readable_dir, readable_file


class NoEarlierSnapshot(RuntimeError):
    pass


def publish_candidate(settings: Settings, candidate: Path, run_id: str) -> Path | str:
    """Mark the run published in the audited candidate, keep a snapshot of it, then swap it
    in atomically. On a lake, copy it into the published catalog as one snapshot instead."""
    _mark_published(settings, candidate, run_id)
    if settings.lake is not None:
        from flows.publish.lake_release import publish_to_lake

        snapshot = publish_to_lake(settings, candidate, run_id)
        candidate.unlink(missing_ok=True)
        return f"{settings.lake} (published catalog, snapshot {snapshot})"
    keep_snapshot(settings, candidate, run_id)
    _swap_in(settings, candidate)
    prune_snapshots(settings)
    return settings.published_db


def _mark_published(settings: Settings, candidate: Path, run_id: str) -> None:
    with connect(candidate, memory_limit=settings.duckdb_memory_limit) as connection:
        connection.execute(
            "UPDATE ops.runs SET status = 'published', finished_at = current_timestamp::TIMESTAMP "
            "WHERE run_id = ?",
            [run_id],
        )
        connection.execute("CHECKPOINT")


def publish_docs(settings: Settings, site: Path) -> Path:
    """The dbt docs site of the published build, as published/docs/index.html."""
    target = settings.published_dir / "docs" / "index.html"
    readable_dir(target.parent)
    incoming = target.with_suffix(".incoming")
    shutil.copyfile(site, incoming)
    os.replace(readable_file(incoming), target)
    return target


def _swap_in(settings: Settings, source: Path) -> None:
    readable_dir(settings.published_dir)
    staging = settings.published_dir / f".{source.name}.incoming"
    os.replace(source, staging)  # same directory as the target: the final rename is atomic
    readable_file(staging)  # built under internal/'s umask: owner-only until now
    _fsync(staging)
    os.replace(staging, settings.published_db)
    _fsync_dir(settings.published_dir)


def discard_interrupted_publication(settings: Settings, interrupted_runs: list[str]) -> None:
    """Undo what a publish or a rollback killed half-way left behind; called with the refresh
    lock held, before anything is published again.

    That is the database on its way in beside the published one (`_swap_in`'s staging copy,
    a rollback's copy), and the snapshot of an interrupted run whose database was never
    swapped in: kept, it would pass for a published database, and `fmw rollback` would go
    back to a state analysts never saw.
    """
    if settings.published_dir.is_dir():
        for pattern in (".*.incoming", ".*.rollback"):
            for leftover in settings.published_dir.glob(pattern):
                leftover.unlink(missing_ok=True)
    published = published_run_id(settings)
    for run_id in interrupted_runs:
        if run_id != published:
            snapshot_path(settings, run_id).unlink(missing_ok=True)
            snapshot_path(settings, run_id).with_suffix(".partial").unlink(missing_ok=True)


def snapshot_path(settings: Settings, run_id: str) -> Path:
    return settings.snapshots_dir / f"warehouse-{run_id}.duckdb"


def keep_snapshot(settings: Settings, database: Path, run_id: str) -> Path:
    settings.snapshots_dir.mkdir(parents=True, exist_ok=True)
    target = snapshot_path(settings, run_id)
    partial = target.with_suffix(".partial")
    shutil.copyfile(database, partial)
    os.replace(partial, target)
    return target


def snapshots(settings: Settings) -> list[Path]:
    """Published databases kept, oldest first (run ids sort by time)."""
    if not settings.snapshots_dir.is_dir():
        return []
    return sorted(settings.snapshots_dir.glob("warehouse-*.duckdb"))


def prune_snapshots(settings: Settings) -> None:
    for old in snapshots(settings)[: -settings.keep_snapshots]:
        old.unlink(missing_ok=True)


def run_id_of_snapshot(path: Path) -> str:
    return path.stem.removeprefix("warehouse-")


def published_run_id(settings: Settings) -> str | None:
    """The run that produced the database analysts see now."""
    if settings.lake is not None:
        from flows.publish.lake_release import published_run_id_in_lake

        return published_run_id_in_lake(settings)
    if not settings.published_db.exists():
        return None
    with connect(
        settings.published_db, read_only=True, memory_limit=settings.duckdb_memory_limit
    ) as connection:
        row = connection.execute(
            "SELECT run_id FROM ops.runs WHERE status = 'published' "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    return row[0] if row else None


def rollback(settings: Settings) -> str:
    """Re-publish the snapshot before the one published now; return its run id."""
    if settings.lake is not None:
        from flows.publish.lake_release import rollback_lake

        return rollback_lake(settings)
    current = published_run_id(settings)
    earlier = [p for p in snapshots(settings) if current is None or run_id_of_snapshot(p) < current]
    if not earlier:
        raise NoEarlierSnapshot(
            f"no snapshot older than the published run {current} is kept in "
            f"{settings.snapshots_dir}"
        )
    previous = earlier[-1]
    readable_dir(settings.published_dir)
    copy = settings.published_dir / f".{previous.name}.rollback"
    shutil.copyfile(previous, copy)
    _swap_in(settings, copy)
    return run_id_of_snapshot(previous)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
