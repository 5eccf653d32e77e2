"""The dbt command lines the nightly refresh runs (no dbt invocation needed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flows.config import Settings, resolve_settings
from flows.transform.dbt import _dbt_args

SELECTION_FLAGS = {"--select", "-s", "--models", "-m", "--resource-type", "--resource-types"}


def _settings(tmp_path: Path) -> Settings:
    return resolve_settings(data_dir=tmp_path / "data")


def _excluded_resource_types(args: list[str]) -> list[str]:
    return [
        args[i + 1]
        for i, arg in enumerate(args)
        if arg in ("--exclude-resource-type", "--exclude-resource-types")
    ]


def test_the_nightly_build_leaves_dbt_unit_tests_to_pytest(tmp_path):
    args = _dbt_args(_settings(tmp_path), "build")

    assert args[0] == "build"
    assert _excluded_resource_types(args) == ["unit_test"]
    assert not SELECTION_FLAGS & set(args)  # every model, seed and data test still runs
    assert "--full-refresh" not in args


def test_the_nightly_build_writes_no_json_artifacts_nobody_reads(tmp_path):
    args = _dbt_args(_settings(tmp_path), "build")

    assert "--no-write-json" in args


def test_docs_generation_writes_the_manifest_and_catalog_its_site_inlines(tmp_path):
    assert "--no-write-json" not in _dbt_args(_settings(tmp_path), "generate")


def test_a_full_refresh_build_also_leaves_unit_tests_out(tmp_path):
    args = _dbt_args(dataclasses.replace(_settings(tmp_path), full_refresh=True), "build")

    assert _excluded_resource_types(args) == ["unit_test"]
    assert "--full-refresh" in args


def test_a_build_of_what_new_rows_feed_selects_it(tmp_path):
    args = _dbt_args(_settings(tmp_path), "build", ("source:fms+", "source:fx+"))

    assert args[args.index("--select") + 1 :][:2] == ["source:fms+", "source:fx+"]
    assert _excluded_resource_types(args) == ["unit_test"]


def test_docs_generation_gets_no_build_flags(tmp_path):
    args = _dbt_args(dataclasses.replace(_settings(tmp_path), full_refresh=True), "generate")

    assert _excluded_resource_types(args) == []
    assert "--full-refresh" not in args
