"""Specification of flows.ops.ephemeral_api: the ephemeral Prefect API server of `fmw refresh`
never outlives the refresh, even one SIGKILLed alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prefect.server.api.server import SubprocessASGIServer

from flows.ops.ephemeral_api import ServerDyingWithItsStarter
from tests.helpers.processes import is_gone, wait_until_gone

REPO_ROOT = Path(__file__).resolve().parents[2]

# What `fmw refresh` does before its flow runs, then what Prefect does when the flow first
# needs its API; then the refresh is killed as the out-of-memory killer would kill it.
KILLED_REFRESH = """
import os, signal, sys
from flows.cli import _prepare_prefect

_prepare_prefect(sys.argv[1])  # before Prefect reads its settings, as in `fmw refresh`
from prefect.client.orchestration import get_client
from prefect.server.api.server import SubprocessASGIServer

with get_client(sync_client=True) as client:
    client.hello()
print(SubprocessASGIServer().server_process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_the_ephemeral_api_server_dies_when_the_refresh_alone_is_killed(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    refresh = subprocess.Popen(
        [sys.executable, "-c", KILLED_REFRESH, str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        env=environment,
        text=True,
    )
    assert refresh.stdout is not None
    server_pid = int(refresh.stdout.readline())  # not to the pipe's end: an orphan holds it
    try:
        assert refresh.wait(timeout=300) == -signal.SIGKILL

        assert wait_until_gone(server_pid, seconds=5)
    finally:
        if not is_gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_the_server_runs_prefects_own_command_with_its_own_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[tuple[list[str], dict[str, str]]] = []

    def record(args: list[str], env: dict[str, str], **kwargs: Any) -> None:
        started.append((args, env))

    monkeypatch.setattr(subprocess, "Popen", record)
    prefects, ours = object.__new__(SubprocessASGIServer), object.__new__(ServerDyingWithItsStarter)
    prefects.port = ours.port = 8123

    prefects._run_uvicorn_command()
    ours._run_uvicorn_command()

    (prefect_command, prefect_env), (our_command, our_env) = started
    assert our_command[:4] == [sys.executable, "-m", "flows.parent_death", str(os.getpid())]
    assert our_command[4:] == prefect_command
    assert our_env == prefect_env
