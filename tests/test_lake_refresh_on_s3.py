"""`fmw refresh --lake ... --lake-data s3://...` end to end against a real local S3-compatible
endpoint (moto's server) and a real Postgres catalog: ingest, dbt's build, the gates and the
publication all write through the endpoint FMW_LAKE_S3_ENDPOINT names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.sample.generator import generate_landing_zone
from tests.helpers.postgres import new_lake
from tests.helpers.s3 import s3_server

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
BUCKET = "fmw-lake"


def _fmw(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True, text=True, timeout=900, env=environment,
    )  # fmt: skip


def test_a_refresh_on_s3_publishes_and_analysts_query_it(postgres, prefect_api, tmp_path):
    landing = tmp_path / "landing"
    generate_landing_zone(landing, surveys=60, seed=7)
    lake = new_lake(postgres, tmp_path / "unused-local-folder")
    with s3_server() as s3:
        s3.client().create_bucket(Bucket=BUCKET)
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FMW_"))},
            **s3.environment(),
            **prefect_api.env,  # no ephemeral Prefect API of its own: 10-15 s saved
            "PYTHONPATH": str(REPO_ROOT),
        }
        where = ["--lake", lake.url, "--lake-data", f"s3://{BUCKET}/{lake.database}"]
        refreshed = _fmw(
            "refresh", "--landing", str(landing), "--data-dir", str(tmp_path / "data"), *where,
            environment=environment,
        )  # fmt: skip
        queried = _fmw(
            "query", "select count(*) as n from marts.fmr_daily_flows", "--format", "csv", *where,
            environment=environment,
        )  # fmt: skip
        keys = s3.keys(BUCKET)

    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert queried.returncode == 0, queried.stderr
    assert int(queried.stdout.splitlines()[1]) > 0
    assert any(k.startswith(f"{lake.database}/internal/") for k in keys)
    assert any(k.startswith(f"{lake.database}/published/marts/") for k in keys)
    assert not list((tmp_path / "unused-local-folder").rglob("*.parquet"))
