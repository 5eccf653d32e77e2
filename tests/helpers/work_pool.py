"""A Prefect process work pool with one worker on a real server, and what tests do with it:
deploy a warehouse with `fmw deploy`, queue its runs, follow their states."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from tests.helpers.kobo_files import refusal, submission, write_csv
from tests.helpers.prefect_server import BIN, prefect_env, prefect_server, prefect_worker

POOL = "fmw-test"
# Runs are queued by hand in tests: a schedule that fires only on 29 February creates no run
# a worker could pick up meanwhile.
NEVER_SOON = "0 0 29 2 *"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass(frozen=True)
class Pool:
    api_url: str
    env: dict[str, str]  # for the CLIs: the server's URL (and credentials)
    worker_log: Path
    auth: str | None = None

    def worker_tail(self) -> str:
        return "worker log:\n" + self.worker_log.read_text()[-4000:]


@contextmanager
def work_pool(root: Path, auth: str | None = None, **server_settings: str) -> Iterator[Pool]:
    """A server (SQLite unless `server_settings` name another database), the process pool
    created with the README's command, and `prefect worker start --pool` on it."""
    if auth:
        server_settings["PREFECT_SERVER_API_AUTH_STRING"] = auth
    with prefect_server(root / "server", **server_settings) as api_url:
        client = {"PREFECT_API_AUTH_STRING": auth} if auth else {}
        env = prefect_env(root / "client", api_url, PREFECT_LOGGING_LEVEL="WARNING", **client)
        created = subprocess.run(
            [str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr
        log = root / "worker.log"
        with prefect_worker(POOL, env, log):
            yield Pool(api_url, env, log, auth)


def small_landing(root: Path, surveys: int) -> Path:
    """`surveys` interviews and a refusal in one Kobo CSV export."""
    landing = root / "landing"
    rows = [submission(f"s{i}", today="2026-03-04") for i in range(surveys)] + [refusal("r1")]
    write_csv(landing / "fms" / "export_1.csv", rows)
    for source in ("fmr", "stories"):
        (landing / source).mkdir()
    return landing


def deploy(pool: Pool, root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`fmw deploy` of the warehouse in root/data, fed from root/landing."""
    return subprocess.run(
        [str(BIN / "fmw"), "deploy", "--pool", POOL, "--cron", NEVER_SOON,
         "--landing", str(root / "landing"), "--data-dir", str(root / "data"), *extra],
        env=pool.env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def deployed_name(output: str) -> str:
    return output.split("deployment ", 1)[1].split()[0]


@contextmanager
def pool_client(pool: Pool) -> Iterator[SyncPrefectClient]:
    """A client of the pool's server, whatever API the session's harness set up."""
    settings: dict[Any, Any] = {PREFECT_API_URL: pool.api_url}
    if pool.auth:
        settings[PREFECT_API_AUTH_STRING] = pool.auth
    with temporary_settings(settings), get_client(sync_client=True) as client:
        yield client


def queue_run(pool: Pool, deployment: str, **parameters: object) -> UUID:
    with pool_client(pool):
        run = run_deployment(deployment, parameters=parameters or None, timeout=0)
    return run.id


def wait_for_final(
    pool: Pool, run_ids: list[UUID], seconds: float = 900
) -> dict[UUID, tuple[FlowRun, list[dict[UUID, str]]]]:
    """Each run at its end, with the states of all runs seen at each poll (twice a second)."""
    seen: list[dict[UUID, str]] = []
    deadline = time.monotonic() + seconds
    with pool_client(pool) as client:
        while time.monotonic() < deadline:
            runs = {run_id: client.read_flow_run(run_id) for run_id in run_ids}
            seen.append({run_id: run.state_type.value for run_id, run in runs.items()})
            if all(state in FINAL for state in seen[-1].values()):
                return {run_id: (runs[run_id], seen) for run_id in run_ids}
            time.sleep(0.5)
    raise AssertionError(f"runs not finished in {seconds} s: {seen[-1]}\n{pool.worker_tail()}")


def published_surveys(data_dir: Path) -> int:
    """The survey rows loaded, as the published database records them."""
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT sum(rows_loaded) FROM ops.file_loads WHERE source = 'fms'"
        ).fetchone()[0]
