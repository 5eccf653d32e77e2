"""The dbt-duckdb plugin of the lake target: extensions loaded from the wheels, by path."""

from __future__ import annotations

import duckdb

from flows.transform.lake_extensions import Plugin
from flows.warehouse.lake import NO_DOWNLOADS


def _loaded(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute(
        "SELECT extension_name FROM duckdb_extensions() WHERE loaded"
    ).fetchall()
    return {name for (name,) in rows}


def test_the_plugin_loads_the_named_extensions_from_their_wheels_and_installs_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))  # where an INSTALL would put a copy
    plugin = Plugin("lake_extensions", {"extensions": "ducklake,postgres_scanner"})
    with duckdb.connect(":memory:", config=dict(NO_DOWNLOADS)) as connection:
        assert not {"ducklake", "postgres_scanner"} & _loaded(connection)
        plugin.configure_connection(connection)
        assert {"ducklake", "postgres_scanner"} <= _loaded(connection)
        installed = connection.execute(
            "SELECT count(*) FROM duckdb_extensions() "
            "WHERE extension_name IN ('ducklake', 'postgres_scanner') AND installed "
            "AND install_path NOT LIKE '%site-packages%'"
        ).fetchone()
    assert installed == (0,)
    assert not (tmp_path / ".duckdb").exists()
