"""`fmw deploy --lake`: a lake is one warehouse, whichever machine and data directory refresh it,
so its runs share one work queue named after the lake, never after a credential."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.config import resolve_settings
from flows.ops.deployment import (
    DeploymentError,
    WrongWarehouseQueue,
    check_run_queue,
    pool_deployment,
    warehouse_queue_name,
)
from flows.warehouse.lake_identity import lake_identity
from tests.helpers.work_pool import POOL

LAKE = "ducklake:postgres:dbname=fmw host=db.example.org user=fmw_engineer"
DATA = "/srv/fmw-lake"


def test_two_data_directories_refreshing_one_lake_share_its_queue():
    queue = warehouse_queue_name(Path("/srv/laos/data"), LAKE, DATA)

    assert queue == warehouse_queue_name(Path("/home/worker2/fmw-data"), LAKE, DATA)
    assert queue.startswith("warehouse-lake-fmw-srv-fmw-lake-")
    # the same database, whoever connects and however: keyword order, role, options, port
    for same in (
        "ducklake:postgres:host=db.example.org dbname=fmw",
        "ducklake:postgres:dbname=fmw host=db.example.org port=5432 user=worker sslmode=require",
        "ducklake:postgres:postgresql://worker@db.example.org:5432/fmw?connect_timeout=10",
    ):
        assert warehouse_queue_name(Path("/elsewhere"), same, DATA) == queue, same
    assert warehouse_queue_name(Path("/srv/laos/data"), LAKE, DATA + "/") == queue


def test_every_other_lake_and_the_data_directory_itself_have_queues_of_their_own():
    data_dir = Path("/srv/laos/data")
    queues = [
        warehouse_queue_name(data_dir, LAKE, DATA),
        warehouse_queue_name(data_dir, LAKE.replace("dbname=fmw", "dbname=fmw_khm"), DATA),
        warehouse_queue_name(data_dir, LAKE.replace("db.example.org", "db2.example.org"), DATA),
        warehouse_queue_name(data_dir, LAKE + " port=5433", DATA),
        warehouse_queue_name(data_dir, LAKE, "/srv/other-lake"),
        warehouse_queue_name(data_dir, LAKE, "s3://fmw/lake"),
        warehouse_queue_name(data_dir),  # the same folder as an embedded warehouse
    ]

    assert len(set(queues)) == len(queues), queues


def test_a_password_in_the_lake_url_reaches_no_queue_or_message():
    with_password = "ducklake:postgres:dbname=fmw host=db user=fmw_engineer password=Sup3rS3cret"
    as_uri = "ducklake:postgres:postgresql://fmw_engineer:Sup3rS3cret@db/fmw"

    queue = warehouse_queue_name(Path("/srv/laos"), with_password, DATA)
    assert queue == warehouse_queue_name(Path("/srv/laos"), as_uri, DATA)
    assert queue == warehouse_queue_name(
        Path("/srv/laos"), "ducklake:postgres:dbname=fmw host=db", DATA
    )
    with pytest.raises(WrongWarehouseQueue) as refused:
        check_run_queue(POOL, "default", Path("/srv/laos"), with_password, DATA)
    for text in (queue, str(refused.value), lake_identity(as_uri, DATA)):
        assert "Sup3rS3cret" not in text and "fmw_engineer" not in text
    assert queue in str(refused.value)


def test_a_lake_deployment_hands_its_lake_to_the_run_whose_check_accepts_its_queue(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("FMW_LAKE", raising=False)
    monkeypatch.delenv("FMW_LAKE_DATA", raising=False)
    laos = resolve_settings(data_dir=tmp_path / "laos", lake=LAKE, lake_data=DATA)
    other = resolve_settings(data_dir=tmp_path / "other-machine", lake=LAKE, lake_data=DATA)

    deployments = [pool_deployment(settings, POOL) for settings in (laos, other)]

    assert deployments[0].work_queue_name == deployments[1].work_queue_name
    assert deployments[0].name != deployments[1].name  # neither replaces the other
    for deployment in deployments:
        parameters = deployment.parameters
        assert (parameters["lake"], parameters["lake_data"]) == (LAKE, DATA)
        # what the flow resolves from those parameters on a worker, and checks
        run = resolve_settings(
            data_dir=Path(parameters["data_dir"]),
            lake=parameters["lake"],
            lake_data=parameters["lake_data"],
        )
        check_run_queue(POOL, deployment.work_queue_name, run.data_dir, run.lake, run.lake_data)


def test_a_worker_whose_environment_names_a_lake_refuses_a_data_directorys_run(tmp_path):
    embedded = resolve_settings(data_dir=tmp_path / "data")
    deployment = pool_deployment(embedded, POOL)

    with pytest.raises(WrongWarehouseQueue, match="deploy them with --lake"):
        check_run_queue(POOL, deployment.work_queue_name, embedded.data_dir, LAKE, DATA)


def test_deploy_refuses_a_lake_url_that_holds_a_password(tmp_path, monkeypatch, capsys):
    from flows.cli import main

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # never reached
    settings = resolve_settings(
        data_dir=tmp_path / "data", lake=LAKE + " password=Sup3rS3cret", lake_data=DATA
    )
    with pytest.raises(DeploymentError, match="PGPASSWORD"):
        pool_deployment(settings, POOL)

    status = main(
        ["deploy", "--pool", POOL, "--data-dir", str(tmp_path / "data"),
         "--lake", "ducklake:postgres:postgresql://u:Sup3rS3cret@db/fmw", "--lake-data", DATA]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 1
    assert "holds a password" in err and "Sup3rS3cret" not in err
