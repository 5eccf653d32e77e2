"""One refresh at a time per lake: a Postgres advisory lock that dies with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from flows.ops.lake_lock import lake_lock, lake_lock_holder
from flows.ops.run_lock import RefreshAlreadyRunning
from tests.helpers.processes import wait_until_gone

HOLDER = """
import sys, time
from flows.ops.lake_lock import lake_lock
with lake_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def _dsn(lake) -> str:  # noqa: ANN001 - LakeUnderTest
    return lake.url.removeprefix("ducklake:postgres:")


def test_a_second_holder_is_refused_with_the_first_ones_name(lake):
    refused = pytest.raises(RefreshAlreadyRunning, match=rf"fmw refresh pid {os.getpid()} on ")
    with lake_lock(_dsn(lake)), refused, lake_lock(_dsn(lake)):
        pass
    with lake_lock(_dsn(lake)):  # released when the first one ended
        pass


def test_a_finished_holder_unlocks_before_its_session_ends(lake, monkeypatch):
    """Postgres ends a closed session, and frees its locks, after close() returned: a refresh
    started just after another finished must not depend on that race."""
    import psycopg

    lingering = []
    connect = psycopg.connect

    def session_outliving_close(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        connection = connect(*args, **kwargs)
        lingering.append(connection)
        connection.close = lambda: None  # the backend has not ended yet
        return connection

    monkeypatch.setattr(psycopg, "connect", session_outliving_close)
    try:
        with lake_lock(_dsn(lake)):
            pass
        monkeypatch.setattr(psycopg, "connect", connect)
        assert lake_lock_holder(_dsn(lake)) is None
        with lake_lock(_dsn(lake)):
            pass
    finally:
        for connection in lingering:
            psycopg.Connection.close(connection)


def test_a_waiting_refresh_takes_the_lock_once_it_is_released(lake):
    taken = threading.Event()

    def second() -> None:
        with lake_lock(_dsn(lake), wait=True, poll_seconds=0.1):
            taken.set()

    with lake_lock(_dsn(lake)):
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(1)
        assert not taken.is_set()
    waiting.join(timeout=30)
    assert taken.is_set()


def test_a_killed_holder_leaves_the_lake_unlocked(lake):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, _dsn(lake)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = pytest.raises(RefreshAlreadyRunning, match=rf"pid {holder.pid} ")
        with refused, lake_lock(_dsn(lake)):
            pass
        holder.send_signal(signal.SIGKILL)
        assert wait_until_gone(holder.pid)
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 20
    while True:  # Postgres notices the closed socket and ends the session
        try:
            with lake_lock(_dsn(lake)):
                break
        except RefreshAlreadyRunning:
            assert time.monotonic() < deadline
            time.sleep(0.2)
