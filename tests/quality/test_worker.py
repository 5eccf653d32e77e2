"""Specification of flows.quality.worker_parent: a refresh's quality gates run in a process of their
own, which gives the verdicts the gates give in process and never outlives its refresh."""

from __future__ import annotations

import os
import pickle
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import flows.disclosure.gate
from flows.config import Settings
from flows.quality.gates import QualityReport, run_quality_gates
from flows.quality.worker_parent import QualityWorker, QualityWorkerError
from tests.helpers.processes import is_gone, wait_until_gone
from tests.quality.test_quality_gates import TODAY, plant_raw_submission, settings  # noqa: F401 (fixture)
from tests.quality.test_quality_marts import candidate


def _verdicts(report: QualityReport) -> list[tuple[str, str, str, bool | None, str]]:
    return [(r.suite, r.check_name, r.severity, r.success, r.observed) for r in report.results]


def test_the_worker_gives_the_verdicts_the_gates_give_in_process(
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    plant_raw_submission(settings, sex="unknown")  # a critical failure in the raw layer
    db = candidate(tmp_path / "candidate.duckdb")

    with QualityWorker() as worker:
        from_worker = worker.run_gates(settings, db, TODAY)
    in_process = run_quality_gates(settings, db, TODAY)

    assert _verdicts(from_worker) == _verdicts(in_process)
    assert [v.suite for v in from_worker.validations] == [v.suite for v in in_process.validations]
    assert from_worker.blocks_publication


def _without_seconds(summary: str) -> str:
    return re.sub(r" \([0-9.]+ s\)", "", summary)


def test_the_disclosure_audit_runs_in_the_refresh_beside_the_worker_with_the_same_verdicts(
    settings: Settings,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plant_raw_submission(settings)
    stories = [("LA-LM", 2, 44), ("LA-VT", 0, 5), ("LA-PH", 1, None)]
    loads = [("fms", "export_2026-03-05.csv", "0" * 64, 80, None)]
    db = candidate(
        tmp_path / "candidate.duckdb", marts__story_coverage=stories, ops__file_loads=loads
    )
    audited = replace(settings, disclosure_audit=True)
    audit_processes: list[int] = []
    audit = flows.disclosure.gate.disclosure_gate

    def recorded_audit(candidate: Path, k: int) -> flows.disclosure.gate.DisclosureVerdict:
        audit_processes.append(os.getpid())
        return audit(candidate, k)

    monkeypatch.setattr(flows.disclosure.gate, "disclosure_gate", recorded_audit)

    with QualityWorker() as worker:
        beside = worker.run_gates_then_docs(audited, db, "run-beside", TODAY)
        docs = worker.data_docs()

    assert audit_processes == [os.getpid()]  # here, not in the worker, and only once
    in_process = run_quality_gates(audited, db, TODAY)
    assert _verdicts(beside) == _verdicts(in_process)
    assert {r.suite for r in beside.results} >= {"disclosure_audit", "raw_fms_submissions"}
    assert _without_seconds(beside.summary()) == _without_seconds(in_process.summary())
    assert docs.index.is_file() and docs.error is None


def test_an_error_in_the_gates_reaches_the_refresh_with_its_cause(
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no_such_candidate.duckdb"

    with QualityWorker() as worker, pytest.raises(QualityWorkerError) as raised:
        worker.run_gates(settings, missing, TODAY)

    assert "quality gates failed in the worker" in str(raised.value)
    assert "no_such_candidate.duckdb" in str(raised.value)


def test_a_worker_the_refresh_never_asks_is_killed_when_the_refresh_ends() -> None:
    worker = QualityWorker()

    worker.close()

    assert worker.returncode == -signal.SIGKILL
    assert is_gone(worker.pid)


def test_a_worker_that_died_before_replying_says_how_it_ended(
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    with QualityWorker() as worker:
        os.kill(worker.pid, signal.SIGKILL)  # as the out-of-memory killer would
        assert wait_until_gone(worker.pid)

        with pytest.raises(QualityWorkerError, match="was killed by SIGKILL"):
            worker.run_gates(settings, tmp_path / "candidate.duckdb", TODAY)


def test_a_worker_that_ended_after_the_verdicts_leaves_data_docs_that_say_how_it_ended(
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The verdicts stand: only the Data Docs, which the worker builds after sending them,
    # are missing. A stand-in worker replies with a report and exits before any docs.
    report = QualityReport.of([], [])
    stand_in = (
        "import pickle, sys; pickle.load(sys.stdin.buffer); "
        f"sys.stdout.buffer.write({pickle.dumps(('report', report))!r}); sys.exit(3)"
    )
    with QualityWorker() as worker:
        worker._process.kill()
        worker._process.wait()
        worker._process = subprocess.Popen(
            [sys.executable, "-c", stand_in], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

        verdicts = worker.run_gates_then_docs(settings, tmp_path / "c.duckdb", "run-1", TODAY)
        docs = worker.data_docs()

    assert verdicts.summary() == report.summary()
    assert docs.error is not None and "exited with code 3" in docs.error
    assert docs.index == settings.internal_dir / "data_docs" / "index.html"


def test_the_worker_holds_the_files_it_shares_with_the_refresh(tmp_path: Path) -> None:
    lock = tmp_path / "refresh.lock"
    with lock.open("w") as handle, QualityWorker(shared_fds=(handle.fileno(),)) as worker:
        held = os.readlink(f"/proc/{worker.pid}/fd/{handle.fileno()}")

    assert held == str(lock)


def test_the_worker_exits_when_the_refresh_process_is_killed() -> None:
    # A forked copy of the refresh keeps the worker's stdin open, so the worker cannot learn
    # of the kill from its stdin closing: only its parent watch can end it.
    killed_refresh = (
        "import os, signal, time\n"
        "from flows.quality.worker_parent import QualityWorker\n"
        "worker = QualityWorker()\n"
        "keeper = os.fork()\n"
        "if keeper == 0:\n"
        "    time.sleep(600)\n"
        "    os._exit(0)\n"
        "print(worker.pid, keeper, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    refresh = subprocess.Popen(
        [sys.executable, "-c", killed_refresh], stdout=subprocess.PIPE, text=True
    )
    assert refresh.stdout is not None
    worker_pid, keeper_pid = (int(pid) for pid in refresh.stdout.readline().split())
    refresh.wait(timeout=60)

    try:
        assert wait_until_gone(worker_pid)
    finally:
        os.kill(keeper_pid, signal.SIGKILL)


def test_the_worker_dies_with_the_refresh_process_even_when_it_cannot_run() -> None:
    # Only the refresh is killed (as the out-of-memory killer kills one process), while the
    # worker cannot run any Python of its own (stopped here; busy in native code holding the
    # GIL would do the same): a watch inside the worker cannot end it, the kernel must.
    killed_refresh = (
        "import os, signal, sys\n"
        "from flows.quality.worker_parent import QualityWorker\n"
        "worker = QualityWorker()\n"
        "print(worker.pid, flush=True)\n"
        "sys.stdin.readline()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    refresh = subprocess.Popen(
        [sys.executable, "-c", killed_refresh],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert refresh.stdin is not None and refresh.stdout is not None
    worker_pid = int(refresh.stdout.readline())
    try:
        _wait_until_watching_its_parent(worker_pid)
        os.kill(worker_pid, signal.SIGSTOP)
        refresh.stdin.write("kill\n")
        refresh.stdin.flush()
        assert refresh.wait(timeout=60) == -signal.SIGKILL

        assert wait_until_gone(worker_pid, seconds=5)
    finally:
        if not is_gone(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)


def _wait_until_watching_its_parent(pid: int, seconds: float = 60) -> None:
    """Until the worker runs its own code (its parent watch is a thread of its own)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(os.listdir(f"/proc/{pid}/task")) > 1:
            return
        time.sleep(0.05)
    raise AssertionError(f"the worker {pid} never started its parent watch")
