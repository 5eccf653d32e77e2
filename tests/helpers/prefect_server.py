"""A real Prefect server and process worker on loopback, for tests of work-pool deployments.

Every process is started in a session of its own and stopped with its whole tree: the
process worker starts each flow run in yet another session (Prefect isolates its process
group), which killing the worker's group would leave running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flows.config import TELEMETRY_SWITCHES
from tests.helpers.processes import is_gone

BIN = Path(sys.executable).parent


def prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    """This environment without its PREFECT_* settings, with a Prefect home of its own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update(TELEMETRY_SWITCHES)
    home.mkdir(parents=True, exist_ok=True)
    env["PREFECT_HOME"] = str(home)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(stat.parent.name))
    return found


def process_tree(pid: int) -> list[int]:
    """The process and its descendants, whatever session they moved to."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(_children(current))
    return tree


def stop_tree(process: subprocess.Popen, grace_seconds: float = 20) -> None:
    """SIGTERM to the process group of every process of the tree, SIGKILL to what is left."""
    tree = process_tree(process.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in tree:
            try:
                os.killpg(os.getpgid(pid), sig)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and not all(is_gone(pid) for pid in tree):
            process.poll()
            time.sleep(0.1)
        if all(is_gone(pid) for pid in tree):
            break
    process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(api_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Prefect server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the Prefect server did not answer in 180 s:\n{log.read_text()[-3000:]}")


@contextmanager
def prefect_server(home: Path, **settings: str) -> Iterator[str]:
    """`prefect server start` on a free loopback port (SQLite under `home` unless `settings`
    name another database); yields its API URL."""
    port = free_port()
    log = home / "server.log"
    env = prefect_env(home, PREFECT_UI_ENABLED="false", **settings)
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        api_url = f"http://127.0.0.1:{port}/api"
        _wait_until_healthy(api_url, server, log)
        yield api_url
    finally:
        stop_tree(server)


@dataclass(frozen=True)
class PrefectApi:
    """A running Prefect server that `fmw refresh` processes report to."""

    url: str
    home: Path  # the clients' PREFECT_HOME

    @property
    def env(self) -> dict[str, str]:
        """What a child's environment needs to use this server: with PREFECT_API_URL set,
        `fmw refresh` starts no ephemeral API of its own (flows.cli._prepare_prefect)."""
        return {"PREFECT_API_URL": self.url, "PREFECT_HOME": str(self.home)}


@contextmanager
def prefect_worker(pool: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`prefect worker start --pool POOL`, polling every second; stopped with its flow runs."""
    env = {**env, "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_HEARTBEAT_SECONDS": "5"}
    with log.open("w") as out:
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", pool],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield worker
    finally:
        stop_tree(worker)
