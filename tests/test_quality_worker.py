"""Specification of flows.quality_worker: a refresh's quality gates run in a process of their
own, which gives the verdicts the gates give in process and never outlives its refresh."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_quality_gates import TODAY, plant_raw_submission, settings  # noqa: F401 (fixture)
from test_quality_marts import candidate

from flows.config import Settings
from flows.quality import run_quality_gates
from flows.quality_worker import QualityWorker, QualityWorkerError


def _verdicts(report: object) -> list[tuple[str, str, str, bool | None, str]]:
    return [
        (r.suite, r.check_name, r.severity, r.success, r.observed)
        for r in report.results  # type: ignore[attr-defined]
    ]


def _is_gone(pid: int) -> bool:
    """No such process, or only its zombie (an init that does not reap may keep that)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def _wait_until_gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _is_gone(pid):
            return True
        time.sleep(0.1)
    return False


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


def test_an_error_in_the_gates_reaches_the_refresh_with_its_cause(
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no_such_candidate.duckdb"

    with QualityWorker() as worker, pytest.raises(QualityWorkerError) as raised:
        worker.run_gates(settings, missing, TODAY)

    assert "quality gates failed in the worker" in str(raised.value)
    assert "no_such_candidate.duckdb" in str(raised.value)


def test_a_worker_the_refresh_never_asks_ends_with_the_refresh() -> None:
    worker = QualityWorker()

    worker.close()

    assert _is_gone(worker.pid)


def test_the_worker_exits_when_the_refresh_process_is_killed() -> None:
    killed_refresh = (
        "import os, signal\n"
        "from flows.quality_worker import QualityWorker\n"
        "worker = QualityWorker()\n"
        "print(worker.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    refresh = subprocess.Popen(
        [sys.executable, "-c", killed_refresh], stdout=subprocess.PIPE, text=True
    )
    assert refresh.stdout is not None
    worker_pid = int(refresh.stdout.readline())
    refresh.wait(timeout=60)

    assert _wait_until_gone(worker_pid)


def test_a_busy_worker_exits_as_soon_as_its_parent_dies() -> None:
    # Busy: running the gates, the worker does not read its stdin, so it does not see it close.
    busy_worker = (
        "import sys, time\n"
        "from flows.quality_worker import exit_when_parent_dies\n"
        "exit_when_parent_dies(int(sys.argv[1]))\n"
        "time.sleep(600)\n"
    )
    killed_parent = (
        "import os, signal, subprocess, sys\n"
        f"worker = subprocess.Popen([sys.executable, '-c', {busy_worker!r}, str(os.getpid())])\n"
        "print(worker.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", killed_parent], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    worker_pid = int(parent.stdout.readline())
    parent.wait(timeout=60)

    assert _wait_until_gone(worker_pid)
