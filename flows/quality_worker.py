"""Run a refresh's quality gates in a process of their own, started with the refresh.

Great Expectations costs about 4 s of CPU to import, all of it Python. In the refresh's own
process that import held the GIL while dbt parsed its project, and each slowed the other down
(on 2 cores, dbt's setup went from 3 to 6.7 s). A worker process imports GX on the other core
while ingest and dbt run.

A worker serves one refresh: it imports GX, waits for the one request, runs
`flows.quality.run_quality_gates` and sends the report back. It exits when the refresh ends
without asking (its stdin closes) and when the refresh's process dies, even killed, so it never
holds a database file open after its refresh.

The request, (settings, candidate, today), is pickled to the worker's stdin; the reply,
("report", QualityReport) or ("error", what went wrong), is pickled to its stdout. Anything
a library prints in the worker goes to stderr, which it shares with the refresh.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
import traceback
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, cast

from flows.config import Settings

if TYPE_CHECKING:
    from flows.quality import QualityReport

_PARENT_POLL_SECONDS = 0.5


class QualityWorkerError(RuntimeError):
    """The quality gates raised in the worker, or the worker died before it replied."""


class QualityWorker:
    """The worker process of one refresh; use it as a context manager."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "flows.quality_worker", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._replied = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def __enter__(self) -> QualityWorker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run_gates(
        self, settings: Settings, candidate: Path, today: date | None = None
    ) -> QualityReport:
        """`run_quality_gates(settings, candidate, today)`, run by the worker."""
        stdin, stdout = cast(IO[bytes], self._process.stdin), cast(IO[bytes], self._process.stdout)
        try:
            pickle.dump((settings, candidate, today), stdin)
            stdin.close()
            kind, value = pickle.load(stdout)
        except (BrokenPipeError, EOFError) as error:
            code = self._process.wait()
            raise QualityWorkerError(
                f"the quality worker exited with code {code} before it replied "
                "(its error, if any, is above in this refresh's log)"
            ) from error
        self._replied = True
        if kind == "error":
            raise QualityWorkerError(f"quality gates failed in the worker: {value}")
        return cast("QualityReport", value)

    def close(self) -> None:
        """End the worker. One that replied exits by itself; one that did not is killed: it has
        not opened a database yet, or the refresh no longer wants its answer."""
        if not self._replied:
            self._process.kill()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()
        self._process.wait()


# --- the worker's side -----------------------------------------------------------------------


def exit_when_parent_dies(parent_pid: int) -> threading.Thread:
    """Exit this process as soon as `parent_pid` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    watcher = threading.Thread(target=watch, name="fmw-parent-watch", daemon=True)
    watcher.start()
    return watcher


def _describe(error: BaseException) -> str:
    traceback.print_exception(error, file=sys.stderr)
    return "".join(traceback.format_exception_only(error)).strip()


def serve(parent_pid: int) -> int:
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints must not corrupt replies
    exit_when_parent_dies(parent_pid)
    import_error = None
    try:
        import flows.gx_duckdb  # noqa: F401  (imports GX now, while the refresh ingests)
        from flows.quality import run_quality_gates
    except Exception as error:
        import_error = _describe(error)
    try:
        settings, candidate, today = pickle.load(sys.stdin.buffer)
    except EOFError:
        return 0  # the refresh ended before its quality stage
    try:
        if import_error is not None:
            raise QualityWorkerError(import_error)
        reply: tuple[str, object] = ("report", run_quality_gates(settings, candidate, today))
    except Exception as error:
        reply = ("error", _describe(error))
    pickle.dump(reply, replies)
    replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1])))
