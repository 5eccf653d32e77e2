"""The nightly refresh on a Prefect process work pool: `fmw deploy`, a real server and a real
`prefect worker start`, and one run at a time per warehouse through its work queue."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.config import resolve_settings
from flows.ops.deployment import (
    WrongWarehouseQueue,
    check_run_queue,
    pool_deployment,
    warehouse_queue_name,
)
from tests.helpers.kobo_files import refusal, submission, write_csv
from tests.helpers.prefect_server import BIN, prefect_env, prefect_server, prefect_worker

POOL = "fmw-test"
# Runs are queued by hand here: a schedule that fires only on 29 February creates no run the
# worker could pick up during a test.
NEVER_SOON = "0 0 29 2 *"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# ---- names and checks ---------------------------------------------------------------------


def test_each_data_directory_has_its_own_queue_named_after_it():
    laos = warehouse_queue_name(Path("/srv/fmw/laos"))

    assert laos == warehouse_queue_name(Path("/srv/fmw/laos"))
    assert laos.startswith("warehouse-srv-fmw-laos-")
    assert laos != warehouse_queue_name(Path("/srv/fmw/laos2"))
    assert warehouse_queue_name(Path("/srv/a_b")) != warehouse_queue_name(Path("/srv/a-b"))


def test_a_pool_run_off_its_warehouse_queue_is_refused_with_the_queue_to_use():
    data_dir = Path("/srv/fmw/laos")

    check_run_queue(None, None, data_dir)  # fmw refresh, fmw serve: no pool
    check_run_queue(POOL, warehouse_queue_name(data_dir), data_dir)
    with pytest.raises(WrongWarehouseQueue, match=warehouse_queue_name(data_dir)):
        check_run_queue(POOL, "default", data_dir)
    with pytest.raises(WrongWarehouseQueue, match="/srv/fmw/laos"):
        check_run_queue(POOL, warehouse_queue_name(Path("/srv/fmw/other")), data_dir)


def test_the_pool_deployment_runs_the_installed_module_on_absolute_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = resolve_settings(landing_dir=Path("landing"), data_dir=Path("data"))

    deployment = pool_deployment(settings, POOL, kobo_asset="aLaoFms")

    assert deployment.entrypoint == "flows.nightly.nightly_refresh"  # no file path, no pull
    assert deployment.work_pool_name == POOL
    assert deployment.work_queue_name == warehouse_queue_name(tmp_path / "data")
    assert deployment.parameters["data_dir"] == str(tmp_path / "data")
    assert deployment.parameters["landing_dir"] == str(tmp_path / "landing")
    assert deployment.parameters["wait_for_lock"] is True
    assert deployment.parameters["kobo_asset"] == "aLaoFms"
    assert deployment.concurrency_limit is None  # the warehouse's queue holds the limit


def test_deploy_without_a_server_says_to_set_one(monkeypatch, capsys):
    from flows.cli import main

    monkeypatch.delenv("PREFECT_API_URL", raising=False)

    assert main(["deploy", "--pool", POOL]) == 1
    assert "PREFECT_API_URL" in capsys.readouterr().err


# ---- a real server and worker --------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    api_url: str
    env: dict[str, str]
    worker_log: Path


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """One server (SQLite), one process pool and one worker for the module."""
    root = tmp_path_factory.mktemp("work_pool")
    with prefect_server(root / "server") as api_url:
        env = prefect_env(root / "client", api_url, PREFECT_LOGGING_LEVEL="WARNING")
        created = subprocess.run(
            [str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr
        log = root / "worker.log"
        with prefect_worker(POOL, env, log):
            yield Pool(api_url, env, log)


def _landing(root: Path, surveys: int) -> Path:
    landing = root / "landing"
    rows = [submission(f"s{i}", today="2026-03-04") for i in range(surveys)] + [refusal("r1")]
    write_csv(landing / "fms" / "export_1.csv", rows)
    for source in ("fmr", "stories"):
        (landing / source).mkdir()
    return landing


def _deploy(pool: Pool, root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "fmw"), "deploy", "--pool", POOL, "--cron", NEVER_SOON,
         "--landing", str(root / "landing"), "--data-dir", str(root / "data"), *extra],
        env=pool.env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


@contextmanager
def _client(pool: Pool) -> Iterator[SyncPrefectClient]:
    """A client of the module's server, whatever API the session's harness set up."""
    with (
        temporary_settings({PREFECT_API_URL: pool.api_url}),
        get_client(sync_client=True) as client,
    ):
        yield client


def _queue(pool: Pool, deployment: str, **parameters: object) -> UUID:
    with _client(pool):
        run = run_deployment(deployment, parameters=parameters or None, timeout=0)
    return run.id


def _wait_for_final(pool: Pool, run_ids: list[UUID], seconds: float = 900) -> dict[UUID, list]:
    """Every state each run was seen in, polled twice a second, until all are final."""
    seen: dict[UUID, list] = {run_id: [] for run_id in run_ids}
    deadline = time.monotonic() + seconds
    with _client(pool) as client:
        while time.monotonic() < deadline:
            runs = {run_id: client.read_flow_run(run_id) for run_id in run_ids}
            snapshot = {run_id: run.state_type.value for run_id, run in runs.items()}
            for run_id in run_ids:
                seen[run_id].append(snapshot)
            if all(state in FINAL for state in snapshot.values()):
                return {run_id: [runs[run_id], seen[run_id]] for run_id in run_ids}
            time.sleep(0.5)
    raise AssertionError(f"runs not finished in {seconds} s: {snapshot}\n{_tail(pool)}")


def _tail(pool: Pool) -> str:
    return "worker log:\n" + pool.worker_log.read_text()[-4000:]


def _published_surveys(data_dir: Path) -> int:
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT sum(rows_loaded) FROM ops.file_loads WHERE source = 'fms'"
        ).fetchone()[0]


@pytest.fixture(scope="module")
def first_warehouse(pool: Pool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A warehouse deployed with `fmw deploy` and refreshed once by the worker."""
    root = tmp_path_factory.mktemp("first_warehouse")
    _landing(root, surveys=12)
    deployed = _deploy(pool, root)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    name = deployed.stdout.split("deployment ", 1)[1].split()[0]
    run_id = _queue(pool, name)
    ((run, _),) = _wait_for_final(pool, [run_id]).values()
    return {"root": root, "name": name, "run": run, "deploy_output": deployed.stdout}


@pytest.mark.slow
def test_a_run_queued_on_the_pool_is_picked_up_by_a_worker_and_publishes(first_warehouse, pool):
    run, root = first_warehouse["run"], first_warehouse["root"]

    assert run.state_type.value == "COMPLETED", f"{run.state.message}\n{_tail(pool)}"
    assert run.work_pool_name == POOL
    assert run.work_queue_name == warehouse_queue_name(root / "data")
    assert _published_surveys(root / "data") == 12 + 1  # the refusal counts as a row loaded


@pytest.mark.slow
def test_deploy_names_the_deployment_its_queue_and_the_command_that_runs_it(first_warehouse):
    output = first_warehouse["deploy_output"]

    assert warehouse_queue_name(first_warehouse["root"] / "data") in output
    assert f"prefect deployment run '{first_warehouse['name']}'" in output


@pytest.mark.slow
def test_the_warehouse_queue_lets_one_run_at_a_time_and_other_warehouses_run_beside_it(
    first_warehouse, pool, tmp_path
):
    _landing(tmp_path, surveys=20)
    deployed = _deploy(pool, tmp_path)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    name = deployed.stdout.split("deployment ", 1)[1].split()[0]
    with _client(pool) as client:
        queue = client.read_work_queue_by_name(
            warehouse_queue_name(tmp_path / "data"), work_pool_name=POOL
        )
    assert queue.concurrency_limit == 1

    # The first warehouse's refreshes find nothing new: short, while the other one's is full.
    other = _queue(pool, name)
    same = [_queue(pool, first_warehouse["name"]), _queue(pool, first_warehouse["name"])]
    finished = _wait_for_final(pool, [*same, other])

    runs = {run_id: run for run_id, (run, _) in finished.items()}
    for run in runs.values():
        assert run.state_type.value == "COMPLETED", f"{run.state.message}\n{_tail(pool)}"
    first, second = sorted((runs[run_id] for run_id in same), key=lambda run: run.start_time)
    assert second.start_time >= first.end_time, "two runs of one warehouse overlapped"
    # The second one waited as a scheduled run: no worker took it while the first ran.
    (_, seen) = finished[second.id]
    assert any(
        snapshot[first.id] == "RUNNING" and snapshot[second.id] == "SCHEDULED" for snapshot in seen
    )
    beside = runs[other]
    assert max(beside.start_time, first.start_time) < min(beside.end_time, first.end_time), (
        "the other warehouse's run did not run beside the first"
    )
    assert _published_surveys(tmp_path / "data") == 20 + 1


@pytest.mark.slow
def test_a_run_moved_to_another_warehouse_is_refused_and_changes_nothing(first_warehouse, pool):
    root = first_warehouse["root"]
    elsewhere = root / "elsewhere"

    run_id = _queue(pool, first_warehouse["name"], data_dir=str(elsewhere))
    ((run, _),) = _wait_for_final(pool, [run_id]).values()

    assert run.state_type.value == "FAILED"
    assert "WrongWarehouseQueue" in run.state.message, run.state.message
    assert warehouse_queue_name(elsewhere) in run.state.message
    assert not (elsewhere / "published").exists()


@pytest.mark.slow
def test_deploy_to_a_missing_pool_says_how_to_create_it(pool, tmp_path):
    result = subprocess.run(
        [str(BIN / "fmw"), "deploy", "--pool", "no-such-pool", "--data-dir", str(tmp_path)],
        env=pool.env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip

    assert result.returncode == 1
    assert "prefect work-pool create no-such-pool --type process" in result.stderr
