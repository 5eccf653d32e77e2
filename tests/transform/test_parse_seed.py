"""dbt's parse of the project is shared by the data directories of one machine
(flows.transform.parse_seed): a new data directory's first build does not parse the whole
project again, and dbt runs in the internal directory without moving the caller's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from flows.config import Settings, resolve_settings
from flows.transform.dbt import DbtBuildFailed, run_dbt
from flows.transform.parse_seed import PARSE_FILE, keep_parse, seed_parse, seed_path
from tests.helpers.dbt_fixtures import create_raw_layer

FULL_PARSE = "Starting full parse"
SMALL_BUILD = ("m49_countries",)  # a seed and its own data tests


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _data_directory(root: Path) -> Settings:
    settings = resolve_settings(landing_dir=root / "landing", data_dir=root / "data")
    settings.internal_dir.mkdir(parents=True)
    create_raw_layer(settings.internal_db)
    return settings


def _dbt_log(settings: Settings) -> str:
    return (settings.internal_dir / "dbt_logs" / "dbt.log").read_text()


def test_a_new_data_directorys_first_build_starts_from_the_parse_another_left(tmp_path):
    first, second = _data_directory(tmp_path / "a"), _data_directory(tmp_path / "b")

    built_first = run_dbt(first, select=SMALL_BUILD)
    assert FULL_PARSE in _dbt_log(first)
    assert seed_path().read_bytes() == (first.dbt_target_dir / PARSE_FILE).read_bytes()

    built_second = run_dbt(second, select=SMALL_BUILD)
    assert FULL_PARSE not in _dbt_log(second)
    assert "Nothing changed, skipping partial parsing" in _dbt_log(second)
    assert sorted(built_second, key=repr) == sorted(built_first, key=repr)
    assert {r.status for r in built_second} == {"success", "pass"}


def test_dbt_runs_in_the_internal_directory_and_gives_the_callers_back(tmp_path, monkeypatch):
    settings = _data_directory(tmp_path / "a")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    run_dbt(settings, select=SMALL_BUILD)
    assert Path.cwd() == elsewhere
    assert list(elsewhere.iterdir()) == []  # the relative database path is the internal one's

    settings.internal_db.unlink()  # no raw layer: a staging model cannot build
    with pytest.raises(DbtBuildFailed):
        run_dbt(settings, select=("stg_fms__submissions",))
    assert Path.cwd() == elsewhere


def test_a_cache_that_cannot_be_written_costs_only_a_full_parse(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))
    settings = _data_directory(tmp_path / "a")

    results = run_dbt(settings, select=SMALL_BUILD)

    assert {r.status for r in results} == {"success", "pass"}
    assert FULL_PARSE in _dbt_log(settings)
    assert not seed_path().exists()


def test_the_seed_is_the_users_alone_and_a_lakes_parse_is_never_kept(tmp_path):
    settings = _data_directory(tmp_path / "a")
    run_dbt(settings, select=SMALL_BUILD)
    assert seed_path().stat().st_mode & 0o777 == 0o600
    assert seed_path().parent.stat().st_mode & 0o777 == 0o700

    # on a lake the vars dbt keeps in its parse name the catalog: it stays in the data folder
    on_a_lake = replace(settings, lake="ducklake:postgres:dbname=fmw", lake_data=str(tmp_path))
    (on_a_lake.dbt_target_dir / PARSE_FILE).write_bytes(b"a lake's parse")
    keep_parse(on_a_lake)
    assert seed_path().read_bytes() != b"a lake's parse"
    (on_a_lake.dbt_target_dir / PARSE_FILE).unlink()
    seed_parse(on_a_lake)
    assert not (on_a_lake.dbt_target_dir / PARSE_FILE).exists()
