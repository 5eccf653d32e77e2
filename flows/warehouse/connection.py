"""Opening a warehouse DuckDB file, and the one way this project writes in a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT


@contextmanager
def connect(
    path: Path, read_only: bool = False, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file and always close it: a connection left open keeps a stale view.

    DuckDB may use `memory_limit` (Settings.duckdb_memory_limit) and spills to disk beyond.
    """
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit}
    connection = duckdb.connect(str(path), read_only=read_only, config=config)
    # Every time the flow stamps (loaded_at, a run's start) is UTC wall time, whatever the time
    # zone of the process that runs it: the incremental fact and the raw quality suite find new
    # rows by loaded_at, and a run under another TZ must not stamp rows behind earlier ones.
    connection.execute("SET TimeZone = 'UTC'")
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed when it ends, rolled back if it raises."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
