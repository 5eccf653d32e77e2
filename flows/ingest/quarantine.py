"""The one writer of quarantine.rows: rows rejected with the file, row and reason.

Loaders check a file's rows in a temporary table with an `errors` list column (one
STRUCT(column, reason, value) per broken rule); quarantine_checked_rows copies every error
of every rejected row, with the row itself as JSON. Rows that could not even be parsed go
through quarantine_malformed_rows. Both insert by column name.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from flows.sql import quote_identifier, quote_literal
from flows.warehouse.schema import QUARANTINE_COLUMNS, insert_rows

QUARANTINE_TABLE = "quarantine.rows"
_COLUMNS = tuple(name for name, _ in QUARANTINE_COLUMNS)


@dataclass(frozen=True)
class QuarantinedRow:
    run_id: str
    source: str
    file_name: str
    row_number: int | None
    column_name: str | None
    reason: str
    value: str | None = None
    record: str | None = None


def quarantine_rows(connection: duckdb.DuckDBPyConnection, rows: list[QuarantinedRow]) -> None:
    insert_rows(
        connection,
        QUARANTINE_TABLE,
        _COLUMNS,
        [tuple(getattr(row, name) for name in _COLUMNS) for row in rows],
    )


def quarantine_malformed_rows(
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    source: str,
    file_name: str,
    malformed: list[tuple[int, str]],
) -> None:
    """Rows that could not be parsed at all, as (row number, reason)."""
    quarantine_rows(
        connection,
        [QuarantinedRow(run_id, source, file_name, row, None, reason) for row, reason in malformed],
    )


def quarantine_checked_rows(
    connection: duckdb.DuckDBPyConnection,
    checked_table: str,
    record_columns: tuple[str, ...],
    run_id: str,
    source: str,
    file_name: str,
) -> None:
    """Every error of every row of `checked_table` whose `errors` list is not empty."""
    record = (
        "to_json({"
        + ", ".join(f"{quote_literal(c)}: {quote_identifier(c)}" for c in record_columns)
        + "})"
    )
    names = ", ".join(quote_identifier(c) for c in _COLUMNS)
    connection.execute(
        f"""
        INSERT INTO {QUARANTINE_TABLE} ({names})
        SELECT ?, ?, ?, source_row, e.column, e.reason, e.value, CAST({record} AS VARCHAR)
        FROM (SELECT *, unnest(errors) AS e FROM {checked_table} WHERE len(errors) > 0)
        """,
        [run_id, source, file_name],
    )
