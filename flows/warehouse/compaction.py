"""When DuckDB may compact the warehouse's tables at a checkpoint (its "vacuum").

At a checkpoint DuckDB merges adjacent row groups that fit into fewer, dropping deleted rows
as it goes. Left on, it does so at nearly every checkpoint for whatever was appended since:
after a full refresh's ingest, writing one row to `ops` made the next checkpoint rewrite the
raw tables' partial row groups, 3.5 s (0.01 s without the vacuum), and the ingest's own
close cost 3.0 s more. So every writable connection keeps it off (flows.warehouse.connection
and dbt's profile), and a refresh turns it on for its last write (flows.ops.runs.finish_run)
only when a table has enough to reclaim: a row group's worth of deleted rows that are also a
share of the table (the incremental fact deletes the chains it rebuilds; forgetting
deliveries deletes in bulk), or many more row groups than its rows need (each night's appends
add small ones). DuckDB merges only row groups that fit into fewer: a table whose groups it
cannot merge further stays due, and then each refresh's last checkpoint compacts, as every
checkpoint did before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

from flows.sql import quote_identifier

# DuckDB's setting for it, and its values.
VACUUM_TASKS = "max_vacuum_tasks"
VACUUM_OFF = 0
VACUUM_ON = 100  # DuckDB's default number of vacuum tasks per checkpoint
ROW_GROUP_ROWS = 122_880  # DuckDB's row group size
DELETED_SHARE = 0.10
SPARE_ROW_GROUPS = 16


@dataclass(frozen=True)
class TableLayout:
    """How one table is stored: its rows, the rows its row groups hold (deleted ones
    included) and how many row groups hold them."""

    name: str
    rows: int
    stored_rows: int
    row_groups: int

    def needs_compaction(self) -> bool:
        deleted = self.stored_rows - self.rows
        if deleted >= ROW_GROUP_ROWS and deleted >= DELETED_SHARE * self.stored_rows:
            return True
        return self.row_groups > math.ceil(self.rows / ROW_GROUP_ROWS) + SPARE_ROW_GROUPS


def table_layouts(connection: duckdb.DuckDBPyConnection) -> list[TableLayout]:
    """The layout of every table of the connection's database file."""
    tables = connection.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT temporary ORDER BY ALL"
    ).fetchall()
    return [_layout(connection, schema, table) for schema, table in tables]


def _layout(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> TableLayout:
    name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    (rows,) = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
    # The first column's validity spans each row group whole, deleted rows included (a
    # list column's other segments count its elements, a data segment part of a group).
    stored_rows, row_groups = connection.execute(
        "SELECT coalesce(sum(count), 0), count(DISTINCT row_group_id) "
        "FROM pragma_storage_info(?) WHERE column_path = '[0, 0]'",
        [name],
    ).fetchone()
    return TableLayout(f"{schema}.{table}", rows, stored_rows, row_groups)


def compact_at_close_when_due(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Let the checkpoint that closes this connection compact the tables, when one needs
    it (only a write makes the close checkpoint). The names of the tables that need it."""
    due = [layout.name for layout in table_layouts(connection) if layout.needs_compaction()]
    if due:
        connection.execute(f"SET {VACUUM_TASKS} = {VACUUM_ON}")
    return due
