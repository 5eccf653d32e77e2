"""The lake with its data in S3: a real local S3 endpoint (moto's server), httpfs by path."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from flows.config import resolve_settings
from flows.publish.lake_release import publish_to_lake
from flows.publish.release import rollback
from flows.warehouse.lake import PUBLISHED, connect_analyst, connect_internal, lake_of
from tests.helpers.s3 import S3Server, s3_server

BUCKET = "fmw-lake"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        server.client().create_bucket(Bucket=BUCKET)
        yield server


def test_internal_and_published_data_go_to_their_own_s3_prefixes(s3, lake, tmp_path, monkeypatch):
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    root = f"s3://{BUCKET}/{lake.database}"
    settings = resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=root)
    with connect_internal(settings) as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute("CREATE TABLE raw.rows AS SELECT range AS x FROM range(100000)")
    candidates = []
    for run, rows in (("20260101T000000Z-a", 1000), ("20260102T000000Z-b", 2000)):
        path = tmp_path / f"{run}.duckdb"
        with duckdb.connect(str(path)) as candidate:
            candidate.execute("CREATE SCHEMA marts")
            candidate.execute("CREATE SCHEMA ops")
            candidate.execute(f"CREATE TABLE marts.m AS SELECT range AS x FROM range({rows})")
            candidate.execute(
                "CREATE TABLE ops.runs AS SELECT ? AS run_id, now()::TIMESTAMP AS started_at, "
                "'published' AS status",
                [run],
            )
        publish_to_lake(settings, path, run)
        candidates.append(path)
    keys = s3.keys(BUCKET)
    assert any(k.startswith(f"{lake.database}/internal/raw/") for k in keys)
    assert any(k.startswith(f"{lake.database}/published/marts/") for k in keys)
    published = lake_of(settings, PUBLISHED, read_only=True)
    with connect_analyst(published) as connection:
        assert connection.execute("SELECT count(*) FROM marts.m").fetchone() == (2000,)
        with pytest.raises(duckdb.PermissionException):
            connection.execute(f"SELECT count(*) FROM '{root}/internal/raw/**/*.parquet'")
    assert rollback(settings) == "20260101T000000Z-a"
    with connect_analyst(published) as connection:
        assert connection.execute("SELECT count(*) FROM marts.m").fetchone() == (1000,)
