"""Opening a warehouse DuckDB file, and the one way this project writes in a transaction."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from flows.warehouse.compaction import VACUUM_OFF, VACUUM_TASKS

# DuckDB prints a progress bar to stdout for any query over 2 s, even into a pipe or a log:
# a refresh's stdout is its summary (and the benchmark's JSON), so its connections never do.
# A connection's own setting: as a config at connect it would be global, which DuckDB refuses
# when the process already has the file open.
NO_PROGRESS_BAR = "SET enable_progress_bar = false"


def set_flow_session(connection: duckdb.DuckDBPyConnection) -> None:
    """The settings of every connection the flow writes through: UTC, no progress bar."""
    # Every time the flow stamps (loaded_at, a run's start) is UTC wall time, whatever the time
    # zone of the process that runs it: the incremental fact and the raw quality suite find new
    # rows by loaded_at, and a run under another TZ must not stamp rows behind earlier ones.
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(NO_PROGRESS_BAR)


@contextmanager
def connect(
    path: Path, read_only: bool = False, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file and always close it: a connection left open keeps a stale view.

    DuckDB may use `memory_limit` (Settings.duckdb_memory_limit) and spills to disk beyond.
    """
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {"memory_limit": memory_limit}
    if not read_only:
        # set at open: a checkpoint that replays a WAL left behind runs before any SET
        config[VACUUM_TASKS] = VACUUM_OFF
    connection = duckdb.connect(str(path), read_only=read_only, config=config)
    set_flow_session(connection)
    try:
        yield connection
    finally:
        connection.close()


# What a confined connection may never do, fixed before any SQL of the caller runs: reach
# the file system (other databases, CSV/JSON/text files, globbing, COPY, EXPORT, INSTALL),
# load extensions or change a setting afterwards.
CONFINED_CONFIG: dict[str, object] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}


@contextmanager
def connect_confined(
    path: Path,
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
    writable_file: Path | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a published file read-only for SQL that analysts write: it sees that file and
    nothing else.

    External access is off (no file, URL or database but this one; no extension loading)
    and the configuration is locked, so no statement can switch either back on. DuckDB
    keeps access to the files it opened itself, and to `writable_file` when given (the one
    file an export writes). Spilling goes to a private temporary folder, not beside the
    published file, where analysts may not write.
    """
    with tempfile.TemporaryDirectory(prefix="fmw-query-") as spill:
        config = {
            **CONFINED_CONFIG,
            "memory_limit": memory_limit,
            "temp_directory": str(Path(spill) / "spill"),
        }
        connection = duckdb.connect(str(path), read_only=True, config=config)
        try:
            connection.execute("SET TimeZone = 'UTC'")  # ICU's setting: unknown at connect time
            if writable_file is not None:
                connection.execute("SET allowed_paths = ?", [[str(writable_file)]])
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
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
