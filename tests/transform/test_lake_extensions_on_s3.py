"""The dbt lake target's plugin on a lake whose data is in S3: dbt's connection writes through
the same S3 secret as the flow's own (a real local S3 endpoint, moto's server)."""

from __future__ import annotations

import duckdb

from flows.transform.lake_extensions import Plugin
from flows.warehouse.lake import NO_DOWNLOADS
from tests.helpers.s3 import s3_server

BUCKET = "fmw-dbt"


def test_dbts_connection_writes_the_lakes_data_to_the_configured_s3_endpoint(tmp_path, monkeypatch):
    plugin = Plugin("lake_extensions", {"extensions": "ducklake,httpfs"})
    with s3_server() as s3:
        s3.client().create_bucket(Bucket=BUCKET)
        for name, value in s3.environment().items():
            monkeypatch.setenv(name, value)
        with duckdb.connect(":memory:", config=dict(NO_DOWNLOADS)) as connection:
            plugin.configure_connection(connection)  # what dbt-duckdb runs before its ATTACH
            connection.execute(
                f"ATTACH 'ducklake:{tmp_path / 'catalog.ducklake'}' AS lake "
                f"(DATA_PATH 's3://{BUCKET}/lake/internal/')"
            )
            connection.execute("CREATE TABLE lake.t AS SELECT range AS x FROM range(100000)")
            assert connection.execute("SELECT sum(x) FROM lake.t").fetchone() == (4999950000,)
        keys = s3.keys(BUCKET)

    assert any(key.startswith("lake/internal/main/t/") for key in keys), keys
