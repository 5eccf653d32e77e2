"""The dbt profile, rendered as dbt renders it: DuckDB settings and threads of the build."""

from __future__ import annotations

import os
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from dbt.config.profile import Profile, read_profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context

from flows.config import DBT_PROJECT_DIR, resolve_settings
from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT as DEFAULT_MEMORY_LIMIT
from flows.transform.dbt import dbt_vars


def _profile() -> Any:
    """The profile's target as `dbt build` would see it in this environment."""
    set_invocation_context(os.environ)
    set_from_args(Namespace(), None)
    raw = read_profile(str(DBT_PROJECT_DIR))
    renderer = ProfileRenderer(dbt_vars(resolve_settings()))  # the vars run_dbt passes
    return Profile.from_raw_profiles(raw, "fmw", renderer, target_override=None)


@pytest.fixture(autouse=True)
def _internal_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMW_INTERNAL_DB", str(tmp_path / "warehouse.duckdb"))


def test_dbt_caps_duckdb_memory_like_the_flows_connections(monkeypatch):
    monkeypatch.delenv("FMW_DUCKDB_MEMORY_LIMIT", raising=False)
    assert _profile().credentials.settings["memory_limit"] == DEFAULT_MEMORY_LIMIT


def test_dbt_never_prints_duckdbs_progress_bar():
    assert _profile().credentials.settings["enable_progress_bar"] is False


def test_the_dbt_memory_cap_follows_the_environment(monkeypatch):
    monkeypatch.setenv("FMW_DUCKDB_MEMORY_LIMIT", "512MB")
    assert _profile().credentials.settings["memory_limit"] == "512MB"


def test_dbt_builds_on_both_cores_keeping_the_database_open_through_an_invocation():
    profile = _profile()
    assert profile.threads == 2
    # flows.transform.dbt closes it when dbt returns (test_dbt_project checks it is released)
    assert profile.credentials.keep_open is True


def test_on_a_lake_dbt_builds_in_the_attached_internal_catalog_loading_extensions_by_path(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("FMW_DUCKDB_MEMORY_LIMIT", raising=False)
    settings = resolve_settings(
        lake="ducklake:postgres:dbname=fmw host=db", lake_data=str(tmp_path)
    )
    set_invocation_context(os.environ)
    set_from_args(Namespace(), None)
    raw = read_profile(str(DBT_PROJECT_DIR))
    renderer = ProfileRenderer(dbt_vars(settings))
    profile = Profile.from_raw_profiles(raw, "fmw", renderer, target_override="lake")
    credentials = profile.credentials
    assert credentials.database == "lake" and credentials.path == ":memory:"
    (attached,) = credentials.attach
    assert attached.to_sql() == (
        "ATTACH IF NOT EXISTS 'ducklake:postgres:dbname=fmw host=db' AS lake "
        f"(DATA_PATH '{tmp_path}/internal/', METADATA_SCHEMA 'fmw_internal')"
    )
    assert credentials.extensions is None  # dbt-duckdb's own list would INSTALL them
    (plugin,) = credentials.plugins
    assert plugin.module == "flows.transform.lake_extensions"
    assert plugin.config == {"extensions": "ducklake,postgres_scanner"}
    assert credentials.config_options == {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    assert credentials.settings["memory_limit"] == DEFAULT_MEMORY_LIMIT
