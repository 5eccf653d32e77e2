"""Build the candidate: the next analysts' database, as a new file beside the internal one.

It holds the marts and the run's operational tables, never the raw layer; the quality
gates audit it, and only then does flows.publish.release swap it in.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.config import Settings
from flows.sql import quote_identifier, quote_literal
from flows.warehouse.connection import connect
from flows.warehouse.lake import INTERNAL, lake_of

PUBLISHED_SCHEMAS = ("marts",)
FILE_LOAD_COLUMNS = (
    "source, file_name, sha256, rows_read, rows_loaded, rows_duplicate, rows_quarantined, "
    "status, reason, loaded_at"
)
# What analysts see as comments on the published ops tables (the marts' come from dbt's
# persist_docs); the meanings are those of /shared/contracts/published.md.
OPS_DESCRIPTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "ops.file_loads": (
        "One row per landing file ever seen: rows_read = rows_loaded + rows_duplicate + "
        "rows_quarantined.",
        {
            "source": "Landing-zone source: fms, fmr, stories or reference.",
            "file_name": "Name of the file within its source folder.",
            "sha256": "SHA-256 of the file's bytes.",
            "rows_read": "Data rows in the file.",
            "rows_loaded": "Rows that are new or changed submissions, tallies or stories.",
            "rows_duplicate": "Rows already held (cumulative exports repeat them).",
            "rows_quarantined": "Rows rejected; the reasons are kept in the internal database.",
            "status": "loaded, skipped_same_bytes or failed.",
            "reason": "Why the file failed, when it did.",
            "loaded_at": "When the file was loaded (UTC).",
        },
    ),
    "ops.runs": (
        "One row per refresh, with what it loaded and how it ended.",
        {
            "run_id": "Refresh id: UTC start time and a random suffix.",
            "started_at": "When the refresh started (UTC).",
            "finished_at": "When it ended (UTC).",
            "status": "published, blocked_by_quality, failed (or running, for this one).",
            "files_seen": "Landing files the refresh looked at.",
            "files_loaded": "Files it loaded rows from.",
            "files_failed": "Files it could not load.",
            "rows_loaded": "Rows it loaded.",
            "rows_quarantined": "Rows it quarantined.",
            "message": "Why it was blocked or failed.",
        },
    ),
    "ops.quality_results": (
        "One row per quality check evaluated by the refresh that produced this database.",
        {
            "run_id": "The refresh (ops.runs.run_id).",
            "suite": "Great Expectations suite (suite:table for the every-table suite).",
            "check_name": "The expectation and what it checks; unique within its suite.",
            "severity": "critical (blocks publication when it fails) or warning.",
            "success": "true passed, false failed, NULL could not be evaluated.",
            "observed": "What the check observed (counts only for respondent-level tables).",
        },
    ),
}


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
        _attach_internal(candidate, settings)
        for schema in (*PUBLISHED_SCHEMAS, "ops"):
            candidate.execute(f"CREATE SCHEMA {schema}")
        for schema, table in _published_tables(candidate):
            candidate.execute(
                f'CREATE TABLE {schema}."{table}" AS SELECT * FROM internal.{schema}."{table}"'
            )
        _copy_comments(candidate)
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


def _attach_internal(candidate: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The internal warehouse, read-only, as `internal`: its file, or the lake's catalog."""
    if settings.lake is None:
        candidate.execute(
            f"ATTACH {quote_literal(str(settings.internal_db))} AS internal (READ_ONLY)"
        )
        return
    for statement in lake_of(settings, INTERNAL, read_only=True).statements("internal", use=False):
        candidate.execute(statement)


def _copy_comments(candidate: duckdb.DuckDBPyConnection) -> None:
    """The descriptions dbt persisted on the internal marts (COMMENT ON), which CREATE TABLE
    AS does not carry over."""
    tables = candidate.execute(
        "SELECT schema_name, table_name, comment FROM duckdb_tables() "
        "WHERE database_name = 'internal' AND schema_name IN (SELECT unnest(?)) "
        "AND comment IS NOT NULL",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    columns = candidate.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
        "WHERE database_name = 'internal' AND schema_name IN (SELECT unnest(?)) "
        "AND comment IS NOT NULL",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    for schema, table, comment in tables:
        candidate.execute(
            f"COMMENT ON TABLE {schema}.{quote_identifier(table)} IS {quote_literal(comment)}"
        )
    for schema, table, column, comment in columns:
        candidate.execute(
            f"COMMENT ON COLUMN {schema}.{quote_identifier(table)}.{quote_identifier(column)} "
            f"IS {quote_literal(comment)}"
        )


def describe_ops_tables(candidate: duckdb.DuckDBPyConnection) -> None:
    """Comment the published ops tables; called once the run's quality results are in."""
    for table, (description, columns) in OPS_DESCRIPTIONS.items():
        candidate.execute(f"COMMENT ON TABLE {table} IS {quote_literal(description)}")
        for column, text in columns.items():
            candidate.execute(
                f"COMMENT ON COLUMN {table}.{quote_identifier(column)} IS {quote_literal(text)}"
            )


def discard_candidate(candidate: Path) -> None:
    candidate.unlink(missing_ok=True)
    Path(f"{candidate}.wal").unlink(missing_ok=True)
