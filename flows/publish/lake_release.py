"""Publish on the lake: the audited candidate becomes one snapshot of the published catalog.

Write-audit-publish as in the embedded mode: the refresh writes the internal catalog, builds
the candidate file from it and audits that file; only then are the candidate's tables copied
into the published catalog (flows.warehouse.lake), all in one DuckLake transaction, so a reader
sees the previous publication or this one, never a mix, and a blocked or killed run leaves the
published catalog as it was. Each publication's snapshot carries the commit message `publish`
(a rollback's, `rollback`) and the run id, which `fmw rollback` and `fmw status` read back;
rolling back copies the tables as they were at an earlier publication's snapshot (time travel)
into a new snapshot, so nothing is ever rewritten in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from flows.config import Settings
from flows.sql import quote_identifier, quote_literal
from flows.warehouse.lake import ALIAS, METADATA_SCHEMAS, PUBLISHED, connect_lake, lake_of

PUBLISHED_SCHEMAS = ("marts", "ops")
COMMIT_AUTHOR = "fmw"
PUBLISH, ROLLBACK = "publish", "rollback"
_NOT_CREATED = "creating a new DuckLake is explicitly disabled"


class NothingPublishedInLake(LookupError):
    pass


@dataclass(frozen=True)
class Publication:
    snapshot_id: int
    at: datetime
    kind: str  # PUBLISH or ROLLBACK
    run_id: str  # the run whose database analysts see from this snapshot on


@contextmanager
def connect_published(
    settings: Settings, read_only: bool = True
) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The published catalog in use, or None when nothing was ever published (a read-only
    attach does not create the catalog)."""
    lake = lake_of(settings, PUBLISHED, read_only=read_only)
    with ExitStack() as stack:
        try:
            connection = stack.enter_context(connect_lake(lake, settings.duckdb_memory_limit))
        except duckdb.InvalidInputException as error:
            if _NOT_CREATED not in str(error):
                raise
            connection = None
        yield connection


def publications(connection: duckdb.DuckDBPyConnection) -> list[Publication]:
    """The catalog's publications and rollbacks, oldest first."""
    rows = connection.execute(
        f"SELECT snapshot_id, snapshot_time, commit_message, commit_extra_info "
        f"FROM {ALIAS}.snapshots() WHERE author = ? AND commit_message IN (?, ?) "
        "ORDER BY snapshot_id",
        [COMMIT_AUTHOR, PUBLISH, ROLLBACK],
    ).fetchall()
    return [Publication(int(s), at, kind, str(run)) for s, at, kind, run in rows]


def publish_to_lake(settings: Settings, candidate: Path, run_id: str) -> int:
    """Copy the audited candidate's tables into the published catalog in one transaction;
    return the new snapshot's id."""
    with connect_lake(lake_of(settings, PUBLISHED), settings.duckdb_memory_limit) as connection:
        connection.execute(f"ATTACH {quote_literal(str(candidate))} AS candidate (READ_ONLY)")
        tables = _tables(connection, "candidate")
        comments = _comments(connection, "candidate")
        connection.execute("BEGIN TRANSACTION")
        try:
            _set_commit_message(connection, PUBLISH, run_id)
            for schema in PUBLISHED_SCHEMAS:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.{schema}")
            for schema, table in set(_tables(connection, ALIAS)) - set(tables):
                connection.execute(f"DROP TABLE {_name(ALIAS, schema, table)}")
            for schema, table in tables:
                connection.execute(
                    f"CREATE OR REPLACE TABLE {_name(ALIAS, schema, table)} AS "
                    f"SELECT * FROM {_name('candidate', schema, table)}"
                )
            _apply_comments(connection, comments)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return _latest_snapshot(connection)


def published_run_id_in_lake(settings: Settings) -> str | None:
    """The run whose database analysts see now (as published_run_id does for the file)."""
    with connect_published(settings) as connection:
        if connection is None or not _tables(connection, ALIAS):
            return None
        row = connection.execute(
            "SELECT run_id FROM ops.runs WHERE status = 'published' "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    return row[0] if row else None


def rollback_lake(settings: Settings) -> str:
    """Publish again the tables of the publication before the one analysts see now, as a new
    snapshot; return its run id."""
    from flows.publish.release import NoEarlierSnapshot

    current = published_run_id_in_lake(settings)
    with connect_lake(lake_of(settings, PUBLISHED), settings.duckdb_memory_limit) as connection:
        earlier = [
            p
            for p in publications(connection)
            if p.kind == PUBLISH and (current is None or p.run_id < current)
        ]
        if not earlier:
            raise NoEarlierSnapshot(
                f"no publication older than the published run {current} in the lake's "
                "published catalog"
            )
        target = earlier[-1]
        then = _tables_at(connection, target.snapshot_id)
        comments = _comments(connection, ALIAS)
        connection.execute("BEGIN TRANSACTION")
        try:
            _set_commit_message(connection, ROLLBACK, target.run_id)
            for schema, table in set(_tables(connection, ALIAS)) - set(then):
                connection.execute(f"DROP TABLE {_name(ALIAS, schema, table)}")
            for schema, table in then:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.{schema}")
                connection.execute(
                    f"CREATE OR REPLACE TABLE {_name(ALIAS, schema, table)} AS SELECT * FROM "
                    f"{_name(ALIAS, schema, table)} AT (VERSION => {target.snapshot_id})"
                )
            _apply_comments(connection, [c for c in comments if (c[0], c[1]) in set(then)])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return target.run_id


def _set_commit_message(connection: duckdb.DuckDBPyConnection, kind: str, run_id: str) -> None:
    connection.execute(
        f"CALL {ALIAS}.set_commit_message(?, ?, extra_info => ?)", [COMMIT_AUTHOR, kind, run_id]
    )


def _latest_snapshot(connection: duckdb.DuckDBPyConnection) -> int:
    return int(
        connection.execute(f"SELECT max(snapshot_id) FROM {ALIAS}.snapshots()").fetchone()[0]
    )


def _name(database: str, schema: str, table: str) -> str:
    return f"{database}.{schema}.{quote_identifier(table)}"


def _tables(connection: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    return connection.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = ? AND schema_name IN (SELECT unnest(?)) ORDER BY ALL",
        [database, list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def _tables_at(connection: duckdb.DuckDBPyConnection, snapshot: int) -> list[tuple[str, str]]:
    """The published tables as they were at a snapshot, from DuckLake's own metadata."""
    # DuckLake attaches its catalog database beside the lake, under this name.
    prefix = f"__ducklake_metadata_{ALIAS}.{quote_identifier(METADATA_SCHEMAS[PUBLISHED])}"
    return connection.execute(
        f"SELECT s.schema_name, t.table_name FROM {prefix}.ducklake_table t "
        f"JOIN {prefix}.ducklake_schema s ON s.schema_id = t.schema_id "
        "WHERE t.begin_snapshot <= $1 AND (t.end_snapshot IS NULL OR t.end_snapshot > $1) "
        "AND s.begin_snapshot <= $1 AND (s.end_snapshot IS NULL OR s.end_snapshot > $1) "
        "AND s.schema_name IN (SELECT unnest($2)) ORDER BY ALL",
        [snapshot, list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def _comments(connection: duckdb.DuckDBPyConnection, database: str) -> list[tuple]:
    """(schema, table, column or None, comment) of the published tables."""
    tables = connection.execute(
        "SELECT schema_name, table_name, NULL, comment FROM duckdb_tables() "
        "WHERE database_name = ? AND schema_name IN (SELECT unnest(?)) AND comment IS NOT NULL",
        [database, list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    columns = connection.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name IN (SELECT unnest(?)) AND comment IS NOT NULL",
        [database, list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    return tables + columns


def _apply_comments(connection: duckdb.DuckDBPyConnection, comments: list[tuple]) -> None:
    for schema, table, column, comment in comments:
        target = _name(ALIAS, schema, table)
        if column is None:
            connection.execute(f"COMMENT ON TABLE {target} IS {quote_literal(comment)}")
        else:
            connection.execute(
                f"COMMENT ON COLUMN {target}.{quote_identifier(column)} IS {quote_literal(comment)}"
            )
