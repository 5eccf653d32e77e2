"""The README's worker set-up on its documented server: Prefect's database in Postgres
(asyncpg), the API behind an auth string, a process pool, a worker, `fmw deploy`."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers.prefect_server import BIN
from tests.helpers.work_pool import (
    deploy,
    deployed_name,
    published_surveys,
    queue_run,
    small_landing,
    wait_for_final,
    work_pool,
)

# The Postgres fixture comes with the lake backend (issue 22); without it there is no server.
postgres = pytest.importorskip("tests.helpers.postgres")

pytestmark = pytest.mark.slow

AUTH = "admin:not-a-real-secret"


def test_a_server_on_postgres_behind_a_password_runs_a_refresh_queued_on_the_pool(tmp_path):
    with postgres.postgres_server() as server:
        database = server.create_database("prefect")
        url = f"postgresql+asyncpg://{server.superuser}@{server.host}:{server.port}/{database}"
        with work_pool(
            tmp_path / "pool", auth=AUTH, PREFECT_API_DATABASE_CONNECTION_URL=url
        ) as pool:
            anonymous = {k: v for k, v in pool.env.items() if k != "PREFECT_API_AUTH_STRING"}
            refused = subprocess.run(
                [str(BIN / "prefect"), "work-pool", "ls"],
                env=anonymous, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            small_landing(tmp_path, surveys=12)
            deployed = deploy(pool, tmp_path)
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            run_id = queue_run(pool, deployed_name(deployed.stdout))
            ((run, _),) = wait_for_final(pool, [run_id]).values()
        runs_in_postgres = server.psql(
            f"SELECT count(*) FROM flow_run WHERE id = '{run_id}'", dbname=database
        )

    assert refused.returncode != 0  # no auth string, no API
    assert run.state_type.value == "COMPLETED", f"{run.state.message}\n{pool.worker_tail()}"
    assert runs_in_postgres.strip() == "1"
    assert published_surveys(tmp_path / "data") == 12 + 1
