"""Run a refresh's quality gates in a process of their own, started with the refresh.

Great Expectations costs about 4 s of CPU to import, all of it Python. In the refresh's own
process that import held the GIL while dbt parsed its project, and each slowed the other down
(on 2 cores, dbt's setup went from 3 to 6.7 s). A worker process imports GX on the other core
while ingest and dbt run.

A worker serves one refresh: it imports GX, waits for the one request, runs
`flows.quality.run_quality_gates` and sends the report back, then exits. A refresh that ends
without asking kills it (it has opened no database yet). When the refresh's process dies,
even killed, the worker exits within half a second; it holds the refresh lock with its parent
(`shared_fds`), so no other refresh starts while it may still read a database.

The request, (settings, candidate, today), is pickled to the worker's stdin; the reply,
("report", QualityReport) or ("error", what went wrong), is pickled to its stdout. Anything
a library prints in the worker goes to stderr, which it shares with the refresh. The worker
runs in a session of its own, so a Ctrl-C in the terminal reaches only the refresh, which
then kills it.
"""

from __future__ import annotations

import os
import pickle
import signal
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
_EXIT_AFTER_REPLY_SECONDS = 30


class QualityWorkerError(RuntimeError):
    """The quality gates raised in the worker, or the worker died before it replied."""


class QualityWorker:
    """The worker process of one refresh; use it as a context manager."""

    def __init__(self, shared_fds: tuple[int, ...] = ()) -> None:
        """Start the worker; it inherits `shared_fds` (the refresh lock) and holds them."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "flows.quality_worker", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=shared_fds,
            start_new_session=True,
        )
        self._replied = False

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

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
        except (BrokenPipeError, EOFError, pickle.UnpicklingError) as error:
            raise QualityWorkerError(
                f"the quality worker {_ending(self._process.wait())} before it replied "
                "(its error, if any, is above in this refresh's log)"
            ) from error
        self._replied = True
        if kind == "error":
            raise QualityWorkerError(f"quality gates failed in the worker: {value}")
        return cast("QualityReport", value)

    def close(self) -> None:
        """End the worker. One that replied exits by itself; one that did not is killed: it has
        not opened a database yet, or the refresh no longer wants its answer."""
        if self._replied:
            try:
                self._process.wait(timeout=_EXIT_AFTER_REPLY_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
        else:
            self._process.kill()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()
        self._process.wait()


def _ending(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {returncode}"


# --- the worker's side -----------------------------------------------------------------------


def exit_when_parent_dies(parent_pid: int) -> None:
    """Exit this process as soon as `parent_pid` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="fmw-parent-watch", daemon=True).start()


def _log_and_summarise(error: BaseException) -> str:
    """Print the traceback to stderr (the refresh's log); return the one-line summary."""
    traceback.print_exception(error, file=sys.stderr)
    return "".join(traceback.format_exception_only(error)).strip()


def serve(parent_pid: int) -> None:
    """The worker: answer the one request of the refresh process `parent_pid`, then exit."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints must not corrupt replies
    exit_when_parent_dies(parent_pid)
    import_error = None
    try:
        import flows.gx_duckdb  # noqa: F401  (imports GX now, while the refresh ingests)
        from flows.quality import run_quality_gates
    except Exception as error:
        import_error = _log_and_summarise(error)
    try:
        settings, candidate, today = pickle.load(sys.stdin.buffer)
    except EOFError:
        return  # the refresh ended before its quality stage
    try:
        if import_error is not None:
            raise QualityWorkerError(f"importing the quality gates failed: {import_error}")
        reply = pickle.dumps(("report", run_quality_gates(settings, candidate, today)))
    except Exception as error:
        reply = pickle.dumps(("error", _log_and_summarise(error)))
    replies.write(reply)
    replies.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
    sys.stderr.flush()
    os._exit(0)  # its work is done; the refresh waits for this exit, not for a slow teardown
