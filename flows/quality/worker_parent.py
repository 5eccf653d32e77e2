"""The refresh's side of the quality worker: start it, send the request, read the report.

The worker's own side is flows.quality.worker_process.

Great Expectations costs about 4 s of CPU to import, all of it Python. In the refresh's own
process that import held the GIL while dbt parsed its project, and each slowed the other down
(on 2 cores, dbt's setup went from 3 to 6.7 s). A worker process imports GX on the other core
while ingest and dbt run.

A worker serves one refresh: it imports GX, waits for the one request, runs
`flows.quality.gates.run_quality_gates` and sends the report back; when asked, it then builds
the run's Data Docs (`flows.quality.data_docs`, GX's site builder) and sends them too, while
the refresh records the verdicts and publishes. Then it exits. With Data Docs (a refresh's
quality stage), the disclosure audit runs in the refresh's own process beside the gates.
A refresh that ends without asking kills it (it has opened no database yet). When the
refresh's process dies, even SIGKILLed alone, the kernel kills the worker (flows.parent_death):
the thread that starts a worker must outlive it, as a `with QualityWorker()` block does. The
worker holds the refresh lock with its parent (`shared_fds`), so no other refresh starts while
it may still read a database.

The request, (settings, candidate, today, run_id or None), is pickled to the worker's stdin;
the reply, ("report", QualityReport) or ("error", what went wrong), is pickled to its stdout,
followed with a run_id by ("docs", DataDocs). Data Docs that could not be built come back as
DataDocs.error: the verdicts stand without them. Anything
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, cast

from flows.config import Settings

if TYPE_CHECKING:
    from flows.quality.data_docs import DataDocs
    from flows.quality.gates import QualityReport

_EXIT_AFTER_REPLY_SECONDS = 30


class QualityWorkerError(RuntimeError):
    """The quality gates raised in the worker, or the worker died before it replied."""


class QualityWorker:
    """The worker process of one refresh; use it as a context manager."""

    def __init__(self, shared_fds: tuple[int, ...] = ()) -> None:
        """Start the worker; it inherits `shared_fds` (the refresh lock) and holds them."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "flows.quality.worker_process", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=shared_fds,
            start_new_session=True,
        )
        self._replied = False
        self._docs_of: Settings | None = None  # the settings of the run whose docs follow

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
        return self._ask(settings, candidate, today, None)

    def run_gates_then_docs(
        self, settings: Settings, candidate: Path, run_id: str, today: date | None = None
    ) -> QualityReport:
        """The gates' report; the worker then builds the run's Data Docs from it, which
        `data_docs` waits for.

        The disclosure audit is no GX suite and has no Data Docs: it runs in a thread of this
        process while the worker runs the suites, so the two take both cores instead of one
        after the other (the audit is seconds of single-threaded solving). This process only
        waits for the worker meanwhile. Its verdicts join the worker's report as they would
        in `run_quality_gates`.
        """
        self._docs_of = settings
        if not settings.disclosure_audit:
            return self._ask(settings, candidate, today, run_id)
        from flows.disclosure.gate import disclosure_gate

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmw-disclosure") as pool:
            audit = pool.submit(disclosure_gate, candidate, settings.suppression_k)
            report = self._ask(replace(settings, disclosure_audit=False), candidate, today, run_id)
            verdict = audit.result()
        return report.with_disclosure(verdict.checks, verdict.summary)

    def data_docs(self) -> DataDocs:
        """The Data Docs of the run `run_gates_then_docs` asked for, once the worker built
        them; what went wrong instead, when it ended first."""
        from flows.quality.data_docs import DataDocs, data_docs_index

        if self._docs_of is None:
            raise QualityWorkerError("no Data Docs are pending: ask with run_gates_then_docs")
        index = data_docs_index(self._docs_of)
        self._docs_of = None
        try:
            kind, value = pickle.load(cast(IO[bytes], self._process.stdout))
        except (EOFError, pickle.UnpicklingError) as error:
            ending = _ending(self._process.wait())
            return DataDocs(
                index=index,
                error=f"the quality worker {ending} before it sent the Data Docs ({error!r})",
            )
        except Exception as error:  # a reply this process cannot read: no Data Docs
            return DataDocs(index=index, error=f"the Data Docs reply was unreadable: {error!r}")
        if kind != "docs" or not isinstance(value, DataDocs):
            return DataDocs(index=index, error=f"the quality worker sent {kind!r}, not Data Docs")
        return value

    def _ask(
        self, settings: Settings, candidate: Path, today: date | None, run_id: str | None
    ) -> QualityReport:
        stdin, stdout = cast(IO[bytes], self._process.stdin), cast(IO[bytes], self._process.stdout)
        try:
            pickle.dump((settings, candidate, today, run_id), stdin)
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
        """End the worker. One that replied exits by itself, once it has sent the Data Docs
        it was asked for (killed mid-way, it could leave GX's stores half-written); one that
        did not reply is killed: it has not opened a database yet, or the refresh no longer
        wants its answer."""
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
