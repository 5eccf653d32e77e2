"""The nightly refresh on a Prefect process work pool: `fmw deploy`, a real server and a real
`prefect worker start`, and one run at a time per warehouse through its work queue."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.config import resolve_settings
from flows.ops.deployment import (
    WrongWarehouseQueue,
    check_run_queue,
    pool_deployment,
    warehouse_queue_name,
)
from tests.helpers.prefect_server import BIN
from tests.helpers.work_pool import (
    POOL,
    Pool,
    deploy,
    deployed_name,
    pool_client,
    published_surveys,
    queue_run,
    small_landing,
    wait_for_final,
    work_pool,
)

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


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """One server (SQLite), one process pool and one worker for the module."""
    with work_pool(tmp_path_factory.mktemp("work_pool")) as created:
        yield created


@pytest.fixture(scope="module")
def first_warehouse(pool: Pool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A warehouse deployed with `fmw deploy` and refreshed once by the worker."""
    root = tmp_path_factory.mktemp("first_warehouse")
    small_landing(root, surveys=12)
    deployed = deploy(pool, root)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    name = deployed_name(deployed.stdout)
    run_id = queue_run(pool, name)
    ((run, _),) = wait_for_final(pool, [run_id]).values()
    return {"root": root, "name": name, "run": run, "deploy_output": deployed.stdout}


@pytest.mark.slow
def test_a_run_queued_on_the_pool_is_picked_up_by_a_worker_and_publishes(first_warehouse, pool):
    run, root = first_warehouse["run"], first_warehouse["root"]

    assert run.state_type.value == "COMPLETED", f"{run.state.message}\n{pool.worker_tail()}"
    assert run.work_pool_name == POOL
    assert run.work_queue_name == warehouse_queue_name(root / "data")
    assert published_surveys(root / "data") == 12 + 1  # the refusal counts as a row loaded


@pytest.mark.slow
def test_deploy_names_the_deployment_its_queue_and_the_command_that_runs_it(first_warehouse):
    output = first_warehouse["deploy_output"]

    assert warehouse_queue_name(first_warehouse["root"] / "data") in output
    assert f"prefect deployment run '{first_warehouse['name']}'" in output


@pytest.mark.slow
def test_the_warehouse_queue_lets_one_run_at_a_time_and_other_warehouses_run_beside_it(
    first_warehouse, pool, tmp_path
):
    small_landing(tmp_path, surveys=20)
    deployed = deploy(pool, tmp_path)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    name = deployed_name(deployed.stdout)
    with pool_client(pool) as client:
        queue = client.read_work_queue_by_name(
            warehouse_queue_name(tmp_path / "data"), work_pool_name=POOL
        )
    assert queue.concurrency_limit == 1

    # The first warehouse's refreshes find nothing new: short, while the other one's is full.
    other = queue_run(pool, name)
    same = [queue_run(pool, first_warehouse["name"]), queue_run(pool, first_warehouse["name"])]
    finished = wait_for_final(pool, [*same, other])

    runs = {run_id: run for run_id, (run, _) in finished.items()}
    for run in runs.values():
        assert run.state_type.value == "COMPLETED", f"{run.state.message}\n{pool.worker_tail()}"
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
    assert published_surveys(tmp_path / "data") == 20 + 1


@pytest.mark.slow
def test_a_run_moved_to_another_warehouse_is_refused_and_changes_nothing(first_warehouse, pool):
    root = first_warehouse["root"]
    elsewhere = root / "elsewhere"

    run_id = queue_run(pool, first_warehouse["name"], data_dir=str(elsewhere))
    ((run, _),) = wait_for_final(pool, [run_id]).values()

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


@pytest.mark.slow
def test_deploy_sets_the_limit_on_a_warehouse_queue_created_without_it(pool, tmp_path):
    queue_name = warehouse_queue_name(tmp_path / "data")
    with pool_client(pool) as client:
        client.create_work_queue(queue_name, work_pool_name=POOL)  # as a deployment makes it

    deployed = deploy(pool, tmp_path)

    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    with pool_client(pool) as client:
        queue = client.read_work_queue_by_name(queue_name, work_pool_name=POOL)
    assert queue.concurrency_limit == 1


@pytest.mark.slow
def test_deployments_of_one_lake_from_two_machines_share_one_limited_queue(pool, tmp_path):
    """Two data directories (two machines' run state) refreshing one lake, through different
    roles: one queue, limit 1; another lake in the same Postgres: a queue of its own."""
    lake_data = str(tmp_path / "lake-data")
    lakes = [
        "ducklake:postgres:dbname=fmw_laos host=127.0.0.1 user=fmw_engineer",
        "ducklake:postgres:host=127.0.0.1 port=5432 dbname=fmw_laos user=worker2",
        "ducklake:postgres:dbname=fmw_khm host=127.0.0.1 user=fmw_engineer",
    ]
    names = []
    for machine, lake in zip(("m1", "m2", "m1"), lakes, strict=True):
        deployed = deploy(pool, tmp_path / machine, "--lake", lake, "--lake-data", lake_data)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        database = lake.split("dbname=")[1].split()[0]
        lake_named = f"postgres:host=127.0.0.1 port=5432 dbname={database} data={lake_data}"
        assert f"warehouse the lake {lake_named}," in deployed.stdout  # no role named
        names.append(deployed_name(deployed.stdout))

    with pool_client(pool) as client:
        deployments = [client.read_deployment_by_name(name) for name in names]
        queues = [d.work_queue_name for d in deployments]
        limit = client.read_work_queue_by_name(queues[0], work_pool_name=POOL).concurrency_limit

    assert len(set(names)) == 3
    assert queues[0] == queues[1] != queues[2]
    assert limit == 1
    assert [d.parameters["lake"] for d in deployments] == lakes
    assert deployments[1].parameters["data_dir"] == str(tmp_path / "m2" / "data")


@pytest.mark.slow
def test_a_lake_deployments_run_is_picked_up_on_the_lakes_queue_and_publishes_in_the_lake(
    pool, postgres, tmp_path
):
    from flows.publish.lake_release import connect_published
    from tests.helpers.postgres import new_lake

    lake = new_lake(postgres, tmp_path / "lake-data")
    small_landing(tmp_path, surveys=12)
    deployed = deploy(pool, tmp_path, *lake.args())
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    run_id = queue_run(pool, deployed_name(deployed.stdout))
    ((run, _),) = wait_for_final(pool, [run_id]).values()

    assert run.state_type.value == "COMPLETED", f"{run.state.message}\n{pool.worker_tail()}"
    assert run.work_queue_name == warehouse_queue_name(tmp_path / "data", lake.url, str(lake.data))
    settings = resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=str(lake.data))
    with connect_published(settings) as published:
        (loaded,) = published.execute(
            "SELECT sum(rows_loaded) FROM ops.file_loads WHERE source = 'fms'"
        ).fetchone()
    assert loaded == 12 + 1
    assert not (tmp_path / "data" / "published" / "warehouse.duckdb").exists()
