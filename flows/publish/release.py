"""Write, audit, publish: build the next analysts' database as a new file, and swap it in.

The candidate is built next to the internal database (same file system as the published
one), filled with the marts and the run's operational tables, audited by the caller, and
only then renamed over the published file. A rename is atomic: a reader opens either the
old file or the new one, and sessions already open keep reading the old one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from flows.config import Settings
from flows.warehouse.schema import connect

PUBLISHED_SCHEMAS = ("marts",)
FILE_LOAD_COLUMNS = (
    "source, file_name, sha256, rows_read, rows_loaded, rows_duplicate, rows_quarantined, "
    "status, reason, loaded_at"
)


def candidate_path(settings: Settings, run_id: str) -> Path:
    return settings.candidates_dir / f"warehouse-{run_id}.duckdb"


def _published_tables(source: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return source.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = 'internal' AND schema_name IN (SELECT unnest(?)) "
        "ORDER BY ALL",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def build_candidate(settings: Settings, run_id: str) -> Path:
    """A new database file holding the marts and ops tables; never the raw layer."""
    path = candidate_path(settings, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with connect(path) as candidate:
        candidate.execute(f"ATTACH '{settings.internal_db}' AS internal (READ_ONLY)")
        for schema in (*PUBLISHED_SCHEMAS, "ops"):
            candidate.execute(f"CREATE SCHEMA {schema}")
        for schema, table in _published_tables(candidate):
            candidate.execute(
                f'CREATE TABLE {schema}."{table}" AS SELECT * FROM internal.{schema}."{table}"'
            )
        candidate.execute(
            f"CREATE TABLE ops.file_loads AS SELECT {FILE_LOAD_COLUMNS} "
            "FROM internal.ops.file_loads ORDER BY source, arrival_rank, file_name"
        )
        candidate.execute(
            "CREATE TABLE ops.runs AS SELECT * FROM internal.ops.runs "
            "WHERE status <> 'running' OR run_id = ? ORDER BY started_at",
            [run_id],
        )
        candidate.execute(
            "UPDATE ops.runs SET status = 'published', finished_at = current_timestamp::TIMESTAMP "
            "WHERE run_id = ?",
            [run_id],
        )
        candidate.execute("DETACH internal")
        candidate.execute("CHECKPOINT")
    return path


class NoEarlierSnapshot(RuntimeError):
    pass


def publish_candidate(settings: Settings, candidate: Path, run_id: str) -> Path:
    """Keep a snapshot of the audited candidate, then swap it in atomically."""
    keep_snapshot(settings, candidate, run_id)
    _swap_in(settings, candidate)
    prune_snapshots(settings)
    return settings.published_db


def publish_docs(settings: Settings, site: Path) -> Path:
    """The dbt docs site of the published build, as published/docs/index.html."""
    target = settings.published_dir / "docs" / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_suffix(".incoming")
    shutil.copyfile(site, incoming)
    os.replace(incoming, target)
    return target


def _swap_in(settings: Settings, source: Path) -> None:
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    staging = settings.published_dir / f".{source.name}.incoming"
    os.replace(source, staging)  # same directory as the target: the final rename is atomic
    _fsync(staging)
    os.replace(staging, settings.published_db)
    _fsync_dir(settings.published_dir)


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
    if not settings.published_db.exists():
        return None
    with connect(settings.published_db, read_only=True) as connection:
        row = connection.execute(
            "SELECT run_id FROM ops.runs WHERE status = 'published' "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    return row[0] if row else None


def rollback(settings: Settings) -> str:
    """Re-publish the snapshot before the one published now; return its run id."""
    current = published_run_id(settings)
    earlier = [p for p in snapshots(settings) if current is None or run_id_of_snapshot(p) < current]
    if not earlier:
        raise NoEarlierSnapshot(
            f"no snapshot older than the published run {current} is kept in "
            f"{settings.snapshots_dir}"
        )
    previous = earlier[-1]
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    copy = settings.published_dir / f".{previous.name}.rollback"
    shutil.copyfile(previous, copy)
    _swap_in(settings, copy)
    return run_id_of_snapshot(previous)


def discard_candidate(candidate: Path) -> None:
    candidate.unlink(missing_ok=True)
    Path(f"{candidate}.wal").unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
