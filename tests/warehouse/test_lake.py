"""The lake backend's connections: a real Postgres catalog, extensions loaded from the wheels."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.config import resolve_settings
from flows.warehouse.lake import (
    INTERNAL,
    PUBLISHED,
    Lake,
    connect_analyst,
    connect_internal,
    connect_lake,
    extension_path,
    internal_source,
    is_published,
    lake_of,
)
from tests.helpers.postgres import LakeUnderTest, PostgresError


def _settings(lake: LakeUnderTest, tmp_path: Path):  # noqa: ANN202 - Settings
    return resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=str(lake.data))


def test_extensions_are_the_files_of_the_installed_wheels():
    for name in ("ducklake", "postgres_scanner", "httpfs"):
        path = extension_path(name)
        assert path.is_file()
        assert path.parts[-2:] == ("v1.5.5", f"{name}.duckdb_extension")


def test_a_lake_needs_its_data_path_and_a_ducklake_url(monkeypatch, tmp_path):
    monkeypatch.delenv("FMW_LAKE", raising=False)
    monkeypatch.delenv("FMW_LAKE_DATA", raising=False)
    with pytest.raises(ValueError, match="needs --lake-data"):
        resolve_settings(lake="ducklake:postgres:dbname=fmw")
    with pytest.raises(ValueError, match="must start with ducklake:"):
        resolve_settings(lake="postgres:dbname=fmw", lake_data=str(tmp_path))
    with pytest.raises(ValueError, match="needs --lake"):
        resolve_settings(lake_data=str(tmp_path))
    monkeypatch.setenv("FMW_LAKE", "ducklake:postgres:dbname=fmw host=db")
    monkeypatch.setenv("FMW_LAKE_DATA", "s3://fmw-lake/warehouse")
    settings = resolve_settings()
    assert (settings.lake, settings.lake_data) == (
        "ducklake:postgres:dbname=fmw host=db",
        "s3://fmw-lake/warehouse",
    )
    assert lake_of(settings, PUBLISHED).data_path == "s3://fmw-lake/warehouse/published/"
    assert lake_of(settings, PUBLISHED).extensions() == ["ducklake", "postgres_scanner", "httpfs"]


def test_without_a_lake_the_internal_warehouse_is_the_file(monkeypatch, tmp_path):
    monkeypatch.delenv("FMW_LAKE", raising=False)
    monkeypatch.delenv("FMW_LAKE_DATA", raising=False)
    settings = resolve_settings(data_dir=tmp_path)
    assert internal_source(settings) == settings.internal_db
    with connect_internal(settings) as connection:
        connection.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert settings.internal_db.is_file()


def test_the_same_sql_runs_in_the_lakes_internal_catalog_and_lands_in_postgres(lake, tmp_path):
    settings = _settings(lake, tmp_path)
    with connect_internal(settings) as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute("CREATE TABLE raw.t (a INTEGER, tags VARCHAR[])")
        connection.execute("INSERT INTO raw.t VALUES (1, ['x']), (2, [])")
    with connect_internal(settings, read_only=True) as connection:
        assert connection.execute("SELECT sum(a) FROM raw.t").fetchone() == (3,)
        with pytest.raises(duckdb.Error, match="read-only|attached in read-only"):
            connection.execute("INSERT INTO raw.t VALUES (3, [])")
    tables = lake.server.psql(
        "SELECT count(*) FROM fmw_internal.ducklake_table WHERE table_name = 't'", lake.database
    )
    assert tables.strip() == "1"
    assert not (tmp_path / "data" / "internal" / "warehouse.duckdb").exists()


def test_a_read_only_attach_never_creates_the_published_catalog(lake, tmp_path):
    settings = _settings(lake, tmp_path)
    assert not is_published(lake_of(settings, PUBLISHED, read_only=True))
    schemas = lake.server.psql(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'fmw_published'",
        lake.database,
    )
    assert schemas.strip() == "0"


def test_analysts_confined_connection_reads_the_lake_and_nothing_else(lake, tmp_path):
    settings = _settings(lake, tmp_path)
    with connect_lake(lake_of(settings, PUBLISHED)) as connection:
        connection.execute("CREATE SCHEMA marts")
        # Large enough for Parquet files in the data path, not rows inlined in the catalog.
        connection.execute("CREATE TABLE marts.m AS SELECT range AS x FROM range(100000)")
    assert list((lake.data / "published").rglob("*.parquet"))
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    published = lake_of(settings, PUBLISHED, read_only=True)
    with connect_analyst(published) as connection:
        assert connection.execute("SELECT sum(x) FROM marts.m").fetchone() == (4999950000,)
        with pytest.raises(duckdb.PermissionException):
            connection.execute(f"SELECT * FROM read_csv('{secret}')")
        with pytest.raises(duckdb.Error):
            connection.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.PermissionException):
            connection.execute(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
        with pytest.raises(duckdb.PermissionException):
            connection.execute(f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")


def test_an_analyst_role_reads_the_published_catalog_and_not_the_internal_one(lake, tmp_path):
    """The privacy boundary in Postgres: the analysts' role has the published metadata schema
    only, so DuckLake cannot even open the internal catalog with its credentials."""
    settings = _settings(lake, tmp_path)
    with connect_internal(settings) as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute("CREATE TABLE raw.respondents AS SELECT 'someone' AS name")
    with connect_lake(lake_of(settings, PUBLISHED)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE TABLE marts.m AS SELECT 42 AS x")
    analyst = lake.analyst_role("analyst")
    as_analyst = lake.url_as(analyst)
    published = Lake(as_analyst, str(lake.data), PUBLISHED, read_only=True)
    with connect_analyst(published) as connection:
        assert connection.execute("SELECT x FROM marts.m").fetchone() == (42,)
    internal = Lake(as_analyst, str(lake.data), INTERNAL, read_only=True)
    with pytest.raises(duckdb.Error, match="permission denied"), connect_lake(internal):
        pass
    with pytest.raises(PostgresError, match="permission denied"):
        lake.server.psql(
            "SELECT count(*) FROM fmw_internal.ducklake_table", lake.database, user=analyst
        )
