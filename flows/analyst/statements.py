"""What `fmw query` accepts: one read-only statement per call.

The connection is confined anyway (flows.warehouse.connection.connect_confined): this is
the first line, which refuses anything but a query before DuckDB runs it, with a message
that says why. The statement is parsed by the confined connection itself, because parsing
`IMPORT DATABASE` already reads files.
"""

from __future__ import annotations

import json
import re

import duckdb

# Table functions that change the database's state, callable inside a SELECT: DuckDB
# refuses their file logging under the confinement, but leaves the process to abort later.
STATE_CHANGING_FUNCTIONS = frozenset({"enable_logging", "disable_logging", "truncate_duckdb_logs"})
_EXPLAIN = re.compile(r"^\s*explain(\s+analy[sz]e)?\s+", re.IGNORECASE)

QUERY_TYPES = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)

_WHY = {
    "ATTACH": "fmw query reads the published database only and cannot attach another",
    "DETACH": "fmw query reads the published database only",
    "COPY": "fmw query writes no files: use `fmw export` or `fmw query --format csv`",
    "COPY_DATABASE": "fmw query writes no files: use `fmw export`",
    "EXPORT": "fmw query writes no files: use `fmw export`",
    "LOAD": "fmw query installs and loads no extensions",
    "EXTENSION": "fmw query installs and loads no extensions",
    "SET": "fmw query's settings are fixed",
    "VARIABLE_SET": "fmw query's settings are fixed",
    "PRAGMA": "fmw query's settings are fixed",
}


class QueryRefused(ValueError):
    """A statement `fmw query` does not run: the message says why."""


def single_query(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise QueryRefused unless `sql` is exactly one read-only query."""
    statements = connection.extract_statements(sql)
    # A PIVOT without an IN list makes DuckDB add a statement of its own (an ENUM type of
    # the values), which has no text: only statements with text were written by the user.
    written = [s for s in statements if s.query.strip() or s.type in QUERY_TYPES]
    if not written:
        raise QueryRefused("no SQL statement given")
    if len(written) > 1:
        raise QueryRefused(
            f"fmw query runs one statement per call and this holds {len(written)}: "
            "run them one at a time"
        )
    kind = written[0].type.name
    if written[0].type not in QUERY_TYPES:
        why = _WHY.get(
            kind,
            "fmw query runs read-only queries only "
            "(SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)",
        )
        raise QueryRefused(f"{kind} statements are refused: {why}")
    called = _functions_called(connection, _EXPLAIN.sub("", written[0].query or sql))
    if refused := sorted(called & STATE_CHANGING_FUNCTIONS):
        raise QueryRefused(
            f"{', '.join(refused)} is refused: fmw query runs read-only queries only"
        )


def _functions_called(connection: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    """Names of the functions a SELECT calls, from DuckDB's own parse tree."""
    tree = json.loads(
        connection.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()[0]
    )
    names: set[str] = set()
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("function_name"), str):
                names.add(node["function_name"].lower())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names
