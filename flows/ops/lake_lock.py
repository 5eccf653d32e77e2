"""One refresh at a time per lake, whichever machine runs it.

The data directory's `flock` (flows.ops.run_lock) serialises refreshes on one machine only; a
lake is shared by workers on several. Its refreshes also take a Postgres session-level
advisory lock in the catalog's database, held by one connection for the whole refresh:
Postgres releases it when that connection ends, so a refresh killed anywhere (its socket
closed by the kernel) never leaves the lake locked. The holder names itself in
`application_name`, which the second refresh reports.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from flows.ops.run_lock import RefreshAlreadyRunning

# pg_advisory_lock's key: one per Postgres database, and each lake is one database.
LOCK_KEY = 0x666D775F6C616B65  # "fmw_lake"
APPLICATION = "fmw refresh"


def _holder_row(connection: object) -> tuple[str | None] | None:
    """The lock's holder in this database (pg_locks lists every database of the cluster, and
    each lake's lock has the same key)."""
    return connection.execute(  # type: ignore[attr-defined]
        "SELECT a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND (l.classid::bigint << 32 | l.objid::bigint) = %s LIMIT 1",
        [LOCK_KEY],
    ).fetchone()


def _holder(connection: object) -> str:
    row = _holder_row(connection)
    return row[0] if row and row[0] else "another refresh"


def lake_lock_holder(dsn: str) -> str | None:
    """Who holds the lake's refresh lock now, from any machine; None when no one does."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        row = _holder_row(connection)
    if row is None:
        return None
    return row[0] or "another refresh"


@contextmanager
def lake_lock(dsn: str, wait: bool = False, poll_seconds: float = 1.0) -> Iterator[None]:
    """Hold the lake's refresh lock; raise RefreshAlreadyRunning when another holds it and
    `wait` is false."""
    import psycopg

    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = f"{APPLICATION} pid {os.getpid()} on {socket.gethostname()} since {started}"
    connection = psycopg.connect(dsn, autocommit=True, application_name=name[:63])
    held = False
    try:
        while True:
            (held,) = connection.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
            if held:
                break
            if not wait:
                raise RefreshAlreadyRunning(
                    f"{_holder(connection)} is still running on this lake; "
                    "wait for it (fmw refresh --wait) or try again later"
                )
            time.sleep(poll_seconds)
        yield
    finally:
        try:
            if held:
                _release(connection)
        finally:
            connection.close()


def _release(connection: object) -> None:
    """Unlock before closing: Postgres ends a closed session's backend, and frees its locks,
    only after `close()` has returned, so a refresh started right after this one ended could
    still find the lake locked. A connection already broken frees the lock when its backend
    ends, so a failure here is no reason to mask the refresh's own outcome."""
    import psycopg

    with suppress(psycopg.Error):
        connection.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])  # type: ignore[attr-defined]
