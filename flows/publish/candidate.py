"""Build the candidate: the next analysts' database, as a new file beside the internal one.

It holds the marts and the run's operational tables, never the raw layer; the quality
gates audit it, and only then does flows.publish.release swap it in.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.config import Settings
from flows.sql import quote_literal
from flows.warehouse.connection import connect

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
    """A new database file holding the marts and ops tables; never the raw layer.

    The run is still `running` in its ops.runs: it becomes `published` only when it is
    (flows.publish.release.publish_candidate), never in a candidate the gates may block.
    """
    path = candidate_path(settings, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with connect(path, memory_limit=settings.duckdb_memory_limit) as candidate:
        candidate.execute(
            f"ATTACH {quote_literal(str(settings.internal_db))} AS internal (READ_ONLY)"
        )
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
        candidate.execute("DETACH internal")
        candidate.execute("CHECKPOINT")
    return path


def discard_candidate(candidate: Path) -> None:
    candidate.unlink(missing_ok=True)
    Path(f"{candidate}.wal").unlink(missing_ok=True)
