"""The landing zone's files: a new FMS export is read by DuckDB while Python hashes it; a
file that a recorded one may match is hashed first and never read when it does."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import duckdb

from flows.form.xlsform import Form
from flows.ingest import landing_zone
from flows.ingest.landing import sha256_of
from flows.ingest.landing_zone import ingest_landing_zone
from tests.helpers.kobo_files import submission, write_csv


def _ingest(connection: duckdb.DuckDBPyConnection, form: Form, landing: Path, run: str):
    return ingest_landing_zone(connection, form, landing, run)


def _record_staging(monkeypatch) -> tuple[threading.Event, list[str]]:
    staging = threading.Event()
    staged: list[str] = []
    real = landing_zone.stage_export

    def spy(connection, form, path, *args, **kwargs):
        staged.append(path.name)
        staging.set()
        return real(connection, form, path, *args, **kwargs)

    monkeypatch.setattr(landing_zone, "stage_export", spy)
    return staging, staged


def test_a_new_export_is_read_by_duckdb_while_its_bytes_are_hashed(
    warehouse, form, landing, monkeypatch
):
    write_csv(landing / "fms" / "export.csv", [submission("u1"), submission("u2")])
    staging, _ = _record_staging(monkeypatch)
    real_digest = landing_zone.digest_file
    hashed_during_staging: list[bool] = []

    def digest_once_staging_began(path: Path, *args):
        hashed_during_staging.append(staging.wait(timeout=5))
        return real_digest(path, *args)

    monkeypatch.setattr(landing_zone, "digest_file", digest_once_staging_began)

    [result] = _ingest(warehouse, form, landing, "r1").files

    assert hashed_during_staging == [True]
    assert result.status == "loaded"
    assert result.counts.rows_loaded == 2
    sha256 = warehouse.execute("SELECT sha256 FROM ops.file_loads").fetchone()[0]
    assert sha256 == sha256_of(landing / "fms" / "export.csv")


def test_a_copy_of_a_loaded_export_is_hashed_first_and_never_read(
    warehouse, form, landing, monkeypatch
):
    export = write_csv(landing / "fms" / "export.csv", [submission("u1")])
    _ingest(warehouse, form, landing, "r1")
    shutil.copyfile(export, landing / "fms" / "copy.csv")
    _, staged = _record_staging(monkeypatch)

    [result] = _ingest(warehouse, form, landing, "r2").files

    assert result.status == "skipped_same_bytes"
    assert staged == []


def test_a_link_to_a_loaded_export_is_hashed_first_and_never_read(
    warehouse, form, landing, monkeypatch
):
    export = write_csv(landing / "fms" / "export.csv", [submission("u1")])
    _ingest(warehouse, form, landing, "r1")
    (landing / "fms" / "alias.csv").symlink_to(export)
    _, staged = _record_staging(monkeypatch)

    [result] = _ingest(warehouse, form, landing, "r2").files

    assert result.status == "skipped_same_bytes"
    assert staged == []
