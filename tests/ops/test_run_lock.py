"""One refresh at a time: a second one waits or says who is running; a killed holder's
lock is cleared safely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flows.ops.run_lock import RefreshAlreadyRunning, refresh_lock, refresh_running


def test_a_second_refresh_is_refused_with_who_holds_the_lock(tmp_path: Path):
    lock = tmp_path / "refresh.lock"
    refused = pytest.raises(RefreshAlreadyRunning, match=r"pid \d+ .* is still running")
    with refresh_lock(lock), refused, refresh_lock(lock):
        pass


def test_a_second_refresh_can_wait_for_the_first(tmp_path: Path):
    lock = tmp_path / "refresh.lock"
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with refresh_lock(lock):
            order.append("first starts")
            holding.set()
            time.sleep(0.6)
            order.append("first ends")

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(timeout=30)
    with refresh_lock(lock, wait=True, poll_seconds=0.05):
        order.append("second starts")
    thread.join()
    assert order == ["first starts", "first ends", "second starts"]


def test_the_lock_of_a_killed_refresh_is_detected_and_cleared(tmp_path: Path):
    lock = tmp_path / "refresh.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from flows.ops.run_lock import refresh_lock\n"
            "with refresh_lock(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    assert refresh_running(lock) is not None
    holder.kill()
    holder.wait()

    assert refresh_running(lock) is None
    with refresh_lock(lock) as held:
        assert held.stale["pid"] == holder.pid
    with refresh_lock(lock) as held:
        assert held.stale == {}


def test_a_child_given_the_lock_holds_it_until_it_ends_after_its_parent_is_killed(
    tmp_path: Path,
):
    lock = tmp_path / "refresh.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, signal, subprocess, sys; from pathlib import Path\n"
            "from flows.ops.run_lock import refresh_lock\n"
            "with refresh_lock(Path(sys.argv[1])) as held:\n"
            "    child = subprocess.Popen(['sleep', '600'], pass_fds=(held.fileno,))\n"
            "    print(child.pid, flush=True)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    child_pid = int(holder.stdout.readline())
    holder.wait()

    try:
        assert refresh_running(lock) is not None
    finally:
        os.kill(child_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while refresh_running(lock) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert refresh_running(lock) is None
