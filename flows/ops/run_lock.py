"""One refresh at a time per data directory.

The lock is an advisory `flock` on `<data-dir>/internal/refresh.lock`. The kernel releases
it when the holding process ends, however it ends, so a killed run cannot leave a lock
that blocks forever; the pid and start time written into the file only serve the message
("a refresh started by pid 123 at ... is running") and the stale-lock notice. A child
process given the lock's file descriptor (`HeldLock.fileno`) holds the lock with it: after
a kill, the lock is released only once the child has ended too.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


class RefreshAlreadyRunning(RuntimeError):
    pass


def _holder(path: Path) -> dict[str, object]:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _describe(holder: dict[str, object]) -> str:
    if not holder:
        return "another refresh"
    return f"a refresh started by pid {holder.get('pid')} at {holder.get('started_at')}"


@dataclass(frozen=True)
class HeldLock:
    stale: dict[str, object]  # what the previous holder left if it died holding the lock
    fileno: int  # the lock's file descriptor, for child processes that must hold it too


@contextmanager
def refresh_lock(
    lock_path: Path, wait: bool = False, poll_seconds: float = 1.0, timeout: float | None = None
) -> Iterator[HeldLock]:
    """Hold the refresh lock."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+")
    waited = 0.0
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(lock_path)
                if not wait or (timeout is not None and waited >= timeout):
                    raise RefreshAlreadyRunning(
                        f"{_describe(holder)} is still running on this data directory; "
                        "wait for it (fmw refresh --wait) or try again later"
                    ) from None
                time.sleep(poll_seconds)
                waited += poll_seconds
        # A holder that ended cleanly emptied the file; anything left is from a killed run.
        stale = _holder(lock_path)
        if stale:
            log.warning("cleared a stale refresh lock left by %s", _describe(stale))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat()}))
        handle.flush()
        try:
            yield HeldLock(stale, handle.fileno())
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def refresh_running(lock_path: Path) -> dict[str, object] | None:
    """Who holds the lock now, or None when no refresh runs."""
    if not lock_path.exists():
        return None
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(lock_path) or {"pid": None}
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None
