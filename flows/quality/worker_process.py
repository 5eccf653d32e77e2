"""The quality worker process: imports GX, answers its refresh's one request, then exits.

Started as `python -m flows.quality.worker_process PARENT_PID` by
flows.quality.worker_parent.QualityWorker, which documents the protocol.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING

from flows.config import Settings
from flows.parent_death import die_with_parent
from flows.quality.worker_parent import QualityWorkerError

if TYPE_CHECKING:
    from flows.quality.data_docs import DataDocs
    from flows.quality.gates import QualityReport

_PARENT_POLL_SECONDS = 0.5


def exit_when_parent_dies(parent_pid: int) -> None:
    """Exit this process as soon as `parent_pid` is no longer its parent.

    The kernel's parent-death signal (flows.parent_death) does this on Linux, even while this
    process cannot run; this watch is the fallback where the kernel cannot, and it needs the
    GIL to act. It watches the parent's pid, not a pipe: a process the refresh forked would
    keep a pipe open after the refresh died.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="fmw-parent-watch", daemon=True).start()


def _log_and_summarise(error: BaseException) -> str:
    """Print the traceback to stderr (the refresh's log); return the one-line summary."""
    traceback.print_exception(error, file=sys.stderr)
    return "".join(traceback.format_exception_only(error)).strip()


def _data_docs(settings: Settings, run_id: str, report: QualityReport) -> DataDocs:
    """The run's Data Docs; what went wrong instead, when GX could not build them."""
    from flows.quality.data_docs import DataDocs, build_data_docs, data_docs_index

    try:
        return build_data_docs(settings, run_id, report)
    except Exception as error:
        return DataDocs(index=data_docs_index(settings), error=_log_and_summarise(error))


def serve(parent_pid: int) -> None:
    """The worker: answer the one request of the refresh process `parent_pid`, then exit."""
    die_with_parent(parent_pid)
    exit_when_parent_dies(parent_pid)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints must not corrupt replies
    import_error = None
    try:
        import flows.quality.gx_duckdb  # noqa: F401  (imports GX now, while the refresh ingests)
        from flows.quality.gates import run_quality_gates
    except Exception as error:
        import_error = _log_and_summarise(error)
    try:
        settings, candidate, today, run_id = pickle.load(sys.stdin.buffer)
    except EOFError:
        return  # the refresh ended before its quality stage
    reported = None
    try:
        if import_error is not None:
            raise QualityWorkerError(f"importing the quality gates failed: {import_error}")
        report = run_quality_gates(settings, candidate, today)
        reply = pickle.dumps(("report", report))
        reported = report
    except Exception as error:
        reply = pickle.dumps(("error", _log_and_summarise(error)))
    replies.write(reply)
    replies.flush()
    if reported is not None and run_id is not None:
        # after the verdicts: the refresh records them and publishes meanwhile
        replies.write(pickle.dumps(("docs", _data_docs(settings, run_id, reported))))
        replies.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
    sys.stderr.flush()
    os._exit(0)  # its work is done; the refresh waits for this exit, not for a slow teardown
