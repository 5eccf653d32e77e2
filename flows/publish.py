"""Write, audit, publish: build the next analysts' database as a new file, and swap it in.

The candidate is built next to the internal database (same file system as the published
one), filled with the marts and the run's operational tables, audited by the caller, and
only then renamed over the published file. A rename is atomic: a reader opens either the
old file or the new one, and sessions already open keep reading the old one.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from flows.config import Settings
from flows.warehouse import connect

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


def publish_candidate(settings: Settings, candidate: Path) -> Path:
    """Atomically replace the published database with the audited candidate."""
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    staging = settings.published_dir / f".{candidate.name}.incoming"
    os.replace(candidate, staging)  # same directory as the target: the final rename is atomic
    _fsync(staging)
    os.replace(staging, settings.published_db)
    _fsync_dir(settings.published_dir)
    return settings.published_db


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
