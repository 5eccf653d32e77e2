"""A refresh with no new rows skips dbt only when the last complete build is current."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from flows import transform
from flows.config import DBT_PROJECT_DIR, resolve_settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(transform, "DBT_PROJECT_DIR", project)
    settings = resolve_settings(data_dir=tmp_path / "data")
    settings.dbt_target_dir.mkdir(parents=True)
    (settings.dbt_target_dir / "static_index.html").write_text("<html></html>")
    return settings


def test_a_recorded_build_is_current_until_the_project_or_k_changes(settings):
    transform.record_dbt_build(settings, transform.dbt_fingerprint(settings))
    assert transform.dbt_build_is_current(settings)

    assert not transform.dbt_build_is_current(dataclasses.replace(settings, suppression_k=6))
    model = (
        transform.DBT_PROJECT_DIR / "models" / "marts" / "migration" / "fms_corridor_monthly.sql"
    )
    model.write_text(model.read_text() + "\n-- changed\n")
    assert not transform.dbt_build_is_current(settings)


def test_a_build_that_started_and_did_not_finish_is_not_current(settings):
    transform.record_dbt_build(settings, transform.dbt_fingerprint(settings))
    transform.forget_dbt_build(settings)
    assert not transform.dbt_build_is_current(settings)


def test_without_the_docs_site_the_build_is_not_current(settings):
    transform.record_dbt_build(settings, transform.dbt_fingerprint(settings))
    (settings.dbt_target_dir / "static_index.html").unlink()
    assert not transform.dbt_build_is_current(settings)


def test_rows_loaded_since_the_build_make_it_stale(settings, form):
    from flows.warehouse import connect, ensure_schema

    with connect(settings.internal_db) as connection:
        ensure_schema(connection, form)
    transform.record_dbt_build(settings, transform.dbt_fingerprint(settings))
    with connect(settings.internal_db) as connection:
        connection.execute(
            "INSERT INTO ops.file_loads (source, file_name, rows_loaded, status, loaded_at) "
            "VALUES ('fms', 'new.csv', 3, 'loaded', now()::TIMESTAMP)"
        )
    assert not transform.dbt_build_is_current(settings)
