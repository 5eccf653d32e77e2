"""A refresh with no new rows skips dbt only when the last complete build is current; a
build regenerates the docs site only when the code it documents changed."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from flows import nightly
from flows.config import DBT_PROJECT_DIR, Settings, resolve_settings
from flows.form.xlsform import Form
from flows.transform import dbt as dbt_runner
from flows.transform import plan as transform
from flows.warehouse.connection import connect
from flows.warehouse.schema import ensure_schema


def dbt_build_is_current(settings: Settings) -> bool:
    """The last complete build saw this exact raw data, project, references and k, and its
    docs site is still there: building again would change nothing."""
    return not transform.plan_dbt_build(settings).needed


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(transform, "DBT_PROJECT_DIR", project)
    monkeypatch.setattr(dbt_runner, "DBT_PROJECT_DIR", project)
    settings = resolve_settings(data_dir=tmp_path / "data")
    settings.dbt_target_dir.mkdir(parents=True)
    (settings.dbt_target_dir / "static_index.html").write_text("<html></html>")
    return settings


def test_a_recorded_build_is_current_until_the_project_or_k_changes(settings):
    transform.record_dbt_build(settings, transform.build_inputs(settings))
    assert dbt_build_is_current(settings)

    assert not dbt_build_is_current(dataclasses.replace(settings, suppression_k=6))
    model = (
        transform.DBT_PROJECT_DIR / "models" / "marts" / "migration" / "fms_corridor_monthly.sql"
    )
    model.write_text(model.read_text() + "\n-- changed\n")
    assert not dbt_build_is_current(settings)


def test_a_build_that_started_and_did_not_finish_is_not_current(settings):
    transform.record_dbt_build(settings, transform.build_inputs(settings))
    transform.forget_dbt_build(settings)
    assert not dbt_build_is_current(settings)


def test_without_the_docs_site_the_build_is_not_current(settings):
    transform.record_dbt_build(settings, transform.build_inputs(settings))
    (settings.dbt_target_dir / "static_index.html").unlink()
    assert not dbt_build_is_current(settings)


def _load_rows(settings: Settings, file_name: str, source: str = "fms") -> None:
    """What ingest leaves behind when a landing file adds rows to the raw layer."""
    with connect(settings.internal_db) as connection:
        connection.execute(
            "INSERT INTO ops.file_loads (source, file_name, rows_loaded, status, loaded_at) "
            "VALUES (?, ?, 3, 'loaded', now()::TIMESTAMP)",
            [source, file_name],
        )


def test_rows_loaded_since_the_build_make_it_stale(settings, form):
    with connect(settings.internal_db) as connection:
        ensure_schema(connection, form)
    transform.record_dbt_build(settings, transform.build_inputs(settings))
    _load_rows(settings, "new.csv")
    assert not dbt_build_is_current(settings)


def _built_with_schema(settings: Settings, form: Form) -> None:
    with connect(settings.internal_db) as connection:
        ensure_schema(connection, form)
    transform.record_dbt_build(settings, transform.build_inputs(settings))


def test_new_rows_of_one_source_rebuild_only_what_that_source_feeds(settings, form):
    _built_with_schema(settings, form)
    _load_rows(settings, "export.csv", "fms")

    plan = transform.plan_dbt_build(settings)

    assert (plan.needed, plan.select, plan.changed_sources) == (True, ("source:fms+",), ("fms",))


def test_each_source_with_new_rows_is_selected_with_what_it_feeds(settings, form):
    _built_with_schema(settings, form)
    _load_rows(settings, "tallies.csv", "fmr")
    _load_rows(settings, "fx_rates.csv", "reference")  # the exchange-rate overrides

    assert transform.plan_dbt_build(settings).select == ("source:fmr+", "source:fx+")


def test_a_changed_reference_schema_rebuilds_what_reads_it(settings, form):
    # Ingest rebuilds the reference schema on every run from the form and pycountry; new
    # code there changes its content without any landing file.
    _built_with_schema(settings, form)
    with connect(settings.internal_db) as connection:
        connection.execute("CREATE OR REPLACE TABLE reference.adm1 AS SELECT 'LA-XX' AS adm1_code")

    assert transform.plan_dbt_build(settings).select == ("source:reference+",)


def test_rows_loaded_before_a_build_that_did_not_finish_are_rebuilt_with_everything(settings, form):
    _built_with_schema(settings, form)
    _load_rows(settings, "tallies.csv", "fmr")
    transform.forget_dbt_build(settings)  # a build of those rows started and was killed
    _load_rows(settings, "export.csv", "fms")

    assert transform.plan_dbt_build(settings) == transform.BuildPlan(needed=True)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: dataclasses.replace(s, suppression_k=6),
        lambda s: dataclasses.replace(s, full_refresh=True),
    ],
    ids=["k", "full-refresh"],
)
def test_new_rows_with_a_code_change_or_a_full_refresh_rebuild_everything(settings, form, change):
    _built_with_schema(settings, form)
    _load_rows(settings, "export.csv", "fms")

    assert transform.plan_dbt_build(change(settings)) == transform.BuildPlan(needed=True)


def test_a_build_recorded_by_an_older_version_is_followed_by_a_whole_build(settings, form):
    with connect(settings.internal_db) as connection:
        ensure_schema(connection, form)
    transform._record(settings, "dbt_builds", "9f86d081884c7d659a2feaa0c55ad015")

    assert transform.plan_dbt_build(settings) == transform.BuildPlan(needed=True)


# The dbt stage of the flow, with dbt replaced by fakes that count their runs.


class FakeDbt:
    def __init__(self) -> None:
        self.builds = 0
        self.selections: list[tuple[str, ...]] = []
        self.docs = 0
        self.docs_fail = False

    def run_dbt(
        self,
        settings: Settings,
        command: str = "build",
        select: tuple[str, ...] = (),
        progress: object = None,
        manifest: object = None,
    ) -> list[dbt_runner.DbtResult]:
        self.builds += 1
        self.selections.append(select)
        return []

    def parse_project(self, settings: Settings) -> None:
        return None

    def generate_docs(self, settings: Settings, built: object = None) -> Path:
        self.docs += 1
        site = settings.dbt_target_dir / "static_index.html"
        site.write_text(f"<html>site {self.docs}, k={settings.suppression_k}</html>")
        if self.docs_fail:
            raise dbt_runner.DbtBuildFailed("killed while writing the site")
        return site


@pytest.fixture
def dbt(settings: Settings, form: Form, monkeypatch: pytest.MonkeyPatch) -> FakeDbt:
    with connect(settings.internal_db) as connection:
        ensure_schema(connection, form)
    fake = FakeDbt()
    monkeypatch.setattr(nightly, "run_dbt", fake.run_dbt)
    monkeypatch.setattr(nightly, "generate_docs", fake.generate_docs)
    monkeypatch.setattr(nightly, "parse_project", fake.parse_project)
    monkeypatch.setattr(nightly, "get_run_logger", lambda: logging.getLogger("dbt stage"))
    return fake


def _dbt_stage(settings: Settings) -> Path:
    return nightly.transform_stage.fn(settings)


def test_docs_are_generated_with_the_first_build(settings, dbt):
    site = _dbt_stage(settings)

    assert (dbt.builds, dbt.docs) == (1, 1)
    assert site.read_text() == "<html>site 1, k=5</html>"
    assert dbt_build_is_current(settings)


def test_new_rows_rebuild_the_marts_and_keep_the_docs_site(settings, dbt):
    _dbt_stage(settings)
    _load_rows(settings, "new.csv")
    assert not dbt_build_is_current(settings)

    site = nightly.transform_stage.fn(settings, transform.plan_dbt_build(settings))

    assert (dbt.builds, dbt.docs) == (2, 1)
    assert dbt.selections == [(), ("source:fms+",)]
    assert site.read_text() == "<html>site 1, k=5</html>"
    assert dbt_build_is_current(settings)


def _change_k(settings: Settings) -> Settings:
    return dataclasses.replace(settings, suppression_k=6)


def _change_a_model(settings: Settings) -> Settings:
    model = transform.DBT_PROJECT_DIR / "models" / "marts" / "migration" / "fms_income_uplift.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    return settings


def _full_refresh(settings: Settings) -> Settings:
    return dataclasses.replace(settings, full_refresh=True)


@pytest.mark.parametrize("change", [_change_k, _change_a_model, _full_refresh])
def test_a_code_change_or_a_full_refresh_regenerates_the_docs(
    settings, dbt, change: Callable[[Settings], Settings]
):
    _dbt_stage(settings)
    changed = change(settings)

    _dbt_stage(changed)

    assert (dbt.builds, dbt.docs) == (2, 2)
    assert transform.dbt_docs_are_current(changed, transform.code_fingerprint(changed))


def test_a_missing_docs_site_is_generated_again(settings, dbt):
    _dbt_stage(settings)
    (settings.dbt_target_dir / "static_index.html").unlink()
    assert not dbt_build_is_current(settings)

    site = _dbt_stage(settings)

    assert (dbt.builds, dbt.docs) == (2, 2)
    assert site.read_text() == "<html>site 2, k=5</html>"


def test_a_site_whose_generation_failed_half_way_is_never_reused(settings, dbt):
    _dbt_stage(settings)  # k=5: site 1
    dbt.docs_fail = True
    with pytest.raises(dbt_runner.DbtBuildFailed):
        _dbt_stage(_change_k(settings))  # k=6: site 2 written, then the run dies
    dbt.docs_fail = False
    assert not dbt_build_is_current(settings)

    site = _dbt_stage(settings)  # k=5 again: the code of site 1, but site 2 is on disk

    assert dbt.docs == 3
    assert site.read_text() == "<html>site 3, k=5</html>"
