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
