"""Opening the internal database: DuckDB's memory is capped, not 80% of the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.config import resolve_settings
from flows.warehouse.connection import connect


def _memory_limit(path: Path) -> str:
    with connect(path, memory_limit=resolve_settings().duckdb_memory_limit) as connection:
        return connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_duckdb_memory_is_capped_at_two_gigabytes_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("FMW_DUCKDB_MEMORY_LIMIT", raising=False)
    assert _memory_limit(tmp_path / "w.duckdb") == "1.8 GiB"  # DuckDB shows 2 GB in GiB


def test_the_flows_connections_never_print_duckdbs_progress_bar(tmp_path):
    with connect(tmp_path / "w.duckdb") as connection:
        setting = connection.execute("SELECT current_setting('enable_progress_bar')").fetchone()
    assert setting == (False,)


def test_the_memory_cap_can_be_set_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FMW_DUCKDB_MEMORY_LIMIT", "512MB")
    assert _memory_limit(tmp_path / "w.duckdb") == "488.2 MiB"


@pytest.mark.parametrize("read_only", [False, True])
def test_read_only_connections_are_capped_too(tmp_path, monkeypatch, read_only):
    monkeypatch.setenv("FMW_DUCKDB_MEMORY_LIMIT", "1GB")
    path = tmp_path / "w.duckdb"
    limit = resolve_settings().duckdb_memory_limit
    with connect(path):
        pass
    with connect(path, read_only=read_only, memory_limit=limit) as connection:
        shown = connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert shown == "953.6 MiB"


def test_the_flow_stamps_utc_whatever_the_time_zone_of_its_process(tmp_path: Path) -> None:
    stamp = (
        "from pathlib import Path; from flows.warehouse.connection import connect\n"
        "with connect(Path('" + str(tmp_path / "w.duckdb") + "')) as c:\n"
        "    print(c.execute('SELECT current_timestamp::TIMESTAMP').fetchone()[0].isoformat())"
    )
    env = {**os.environ, "TZ": "Asia/Vientiane"}  # UTC+7 all year

    output = subprocess.run(
        [sys.executable, "-c", stamp], env=env, capture_output=True, text=True, check=True
    ).stdout
    stamped = datetime.fromisoformat(output.strip())

    utc_now = datetime.now(UTC).replace(tzinfo=None)
    assert abs((utc_now - stamped).total_seconds()) < 600


@pytest.fixture
def published_and_internal(tmp_path: Path) -> tuple[Path, Path]:
    from tests.helpers.published_files import write_data_dir

    published = write_data_dir(tmp_path / "data")
    return published, tmp_path / "data" / "internal" / "warehouse.duckdb"


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH '{internal}' AS internal",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/**')",
        "COPY (SELECT 1) TO '{tmp}/x.csv'",
        "EXPORT DATABASE '{tmp}/x'",
        "SET memory_limit = '1GB'",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "LOAD httpfs",
        "INSTALL httpfs",
    ],
)
def test_a_confined_connection_refuses_on_its_own(published_and_internal, tmp_path, sql):
    """Without fmw query's statement check: DuckDB itself refuses."""
    import duckdb

    from flows.warehouse.connection import connect_confined

    published, internal = published_and_internal
    refused = (duckdb.PermissionException, duckdb.InvalidInputException)
    with connect_confined(published) as connection, pytest.raises(refused):
        connection.execute(sql.format(internal=internal, tmp=tmp_path))
    assert not (tmp_path / "x.csv").exists()


def test_a_confined_connection_reads_the_published_file_in_utc(published_and_internal):
    from flows.warehouse.connection import connect_confined

    published, _ = published_and_internal
    with connect_confined(published) as connection:
        rows = connection.execute("SELECT count(*) FROM marts.fms_corridor_monthly").fetchone()
        zone = connection.execute("SELECT current_setting('TimeZone')").fetchone()
    assert rows == (4,) and zone == ("UTC",)


def test_a_confined_connection_may_write_only_the_file_it_was_given(
    published_and_internal, tmp_path
):
    import duckdb

    from flows.warehouse.connection import connect_confined

    published, _ = published_and_internal
    allowed = tmp_path / "out.parquet"
    with connect_confined(published, writable_file=allowed) as connection:
        connection.execute("COPY (SELECT 1 AS a) TO ? (FORMAT parquet)", [str(allowed)])
        with pytest.raises(duckdb.PermissionException):
            connection.execute("COPY (SELECT 1 AS a) TO ? (FORMAT parquet)", [str(tmp_path / "b")])
        with pytest.raises(duckdb.PermissionException):
            connection.execute("SELECT * FROM read_text('/etc/passwd')")
    assert allowed.exists() and not (tmp_path / "b").exists()
