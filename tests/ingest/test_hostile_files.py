"""Hostile landing files: whatever a file holds, it gets a verdict with a reason naming it,
its rows are all accounted for, it is not read again by the next run, and the warehouse
goes on ingesting."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb
import pytest

from flows.form.xlsform import Form
from flows.ingest import landing_zone
from flows.ingest.landing import printable
from flows.ingest.landing_zone import ingest_landing_zone
from tests.helpers.hostile_files import (
    TEST_LIMITS,
    HostileCase,
    hostile_cases,
    write_case,
    write_kobo_sample,
)
from tests.helpers.kobo_files import submission, write_csv

COUNTS = ("rows_read", "rows_loaded", "rows_duplicate", "rows_quarantined")


def _ingest(connection: duckdb.DuckDBPyConnection, form: Form, landing: Path, run: str, **kw):
    return ingest_landing_zone(connection, form, landing, run, limits=TEST_LIMITS, **kw)


def _file_load(connection: duckdb.DuckDBPyConnection, source: str, name: str) -> dict[str, object]:
    cursor = connection.execute(
        "SELECT * FROM ops.file_loads WHERE source = ? AND file_name = ?", [source, name]
    )
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1, f"{source}/{name!r} has {len(rows)} verdicts"
    return dict(zip(columns, rows[0], strict=True))


def _quarantine_reasons(connection: duckdb.DuckDBPyConnection, case: HostileCase) -> list[str]:
    rows = connection.execute(
        "SELECT reason FROM quarantine.rows WHERE source = ? AND file_name = ?",
        [case.source, case.recorded_name],
    ).fetchall()
    return [reason for (reason,) in rows]


def test_the_corpus_holds_at_least_thirty_hostile_files() -> None:
    cases = hostile_cases()
    assert len(cases) >= 30
    assert len({(c.source, c.recorded_name) for c in cases}) == len(cases)


@pytest.mark.parametrize("case", hostile_cases(), ids=lambda case: case.id)
def test_a_hostile_file_gets_its_verdict_and_the_warehouse_still_ingests(
    case: HostileCase, warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path
) -> None:
    write_case(landing, case)

    _ingest(warehouse, form, landing, "r1")

    load = _file_load(warehouse, case.source, case.recorded_name)
    assert load["status"] == case.status, load["reason"]
    if case.status == "failed":
        assert case.reason in load["reason"]
        assert load["reason"].startswith(printable(case.recorded_name))
        assert "\n" not in load["reason"]
    elif case.reason:
        assert any(case.reason in r for r in _quarantine_reasons(warehouse, case))
    if case.counts is not None:
        assert tuple(load[c] for c in COUNTS) == case.counts
    read, loaded, duplicate, quarantined = (load[c] for c in COUNTS)
    assert read == loaded + duplicate + quarantined

    write_kobo_sample(landing, "after")
    again = _ingest(warehouse, form, landing, "r2")

    assert [(f.source, f.file_name, f.status) for f in again.files] == [
        ("fms", "after.json", "loaded")
    ]
    assert _file_load(warehouse, case.source, case.recorded_name)["run_id"] == "r1"


def test_a_failed_file_is_not_retried_until_its_bytes_change(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path
) -> None:
    path = landing / "fms" / "export.csv"
    path.write_bytes(b"")

    assert [f.status for f in _ingest(warehouse, form, landing, "r1").files] == ["failed"]
    assert _ingest(warehouse, form, landing, "r2").files == []
    path.touch()  # a new modification time, the same bytes: hashed, still not read again
    assert _ingest(warehouse, form, landing, "r3").files == []

    write_csv(path, [submission("u1")])
    summary = _ingest(warehouse, form, landing, "r4")

    assert [(f.file_name, f.status) for f in summary.files] == [("export.csv", "loaded")]
    load = _file_load(warehouse, "fms", "export.csv")  # the failed verdict went with its bytes
    assert (load["status"], load["rows_loaded"]) == ("loaded", 1)


def test_a_failed_file_is_read_again_when_asked_to(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path
) -> None:
    (landing / "fms" / "export.csv").write_bytes(b"")
    _ingest(warehouse, form, landing, "r1")

    summary = _ingest(warehouse, form, landing, "r2", retry_failed=True)

    assert [(f.file_name, f.status) for f in summary.files] == [("export.csv", "failed")]
    assert _file_load(warehouse, "fms", "export.csv")["run_id"] == "r2"


def test_a_copy_of_a_failed_file_fails_without_being_read(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path, monkeypatch
) -> None:
    (landing / "fms" / "a.csv").write_bytes(b"")
    _ingest(warehouse, form, landing, "r1")
    (landing / "fms" / "b.csv").write_bytes(b"")
    monkeypatch.setattr(landing_zone, "stage_export", _must_not_be_called)

    [result] = _ingest(warehouse, form, landing, "r2").files

    assert (result.file_name, result.status) == ("b.csv", "failed")
    assert "same bytes as a.csv, which failed" in (result.reason or "")


def _must_not_be_called(*args: object) -> None:
    raise AssertionError("the file was read")


@pytest.mark.parametrize(
    "error",
    [
        RecursionError("maximum recursion depth exceeded"),
        csv.Error("field larger than field limit (131072)"),
        KeyError("results"),
        TypeError("unhashable type: 'dict'"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_any_exception_while_reading_a_file_fails_that_file_alone(
    error: Exception, warehouse, form, landing, monkeypatch
) -> None:
    write_csv(landing / "fms" / "bad.csv", [submission("u1")])
    write_csv(landing / "fmr" / "unrelated.csv", [{"x": "1"}])
    real_stage = landing_zone.stage_export

    def stage(connection, form, path, limits):
        if path.name == "bad.csv":
            raise error
        return real_stage(connection, form, path, limits)

    monkeypatch.setattr(landing_zone, "stage_export", stage)
    write_kobo_sample(landing, "good")

    summary = _ingest(warehouse, form, landing, "r1")

    verdicts = {f.file_name: f.status for f in summary.files}
    assert verdicts == {"bad.csv": "failed", "good.json": "loaded", "unrelated.csv": "failed"}
    reason = _file_load(warehouse, "fms", "bad.csv")["reason"]
    assert reason.startswith(f"bad.csv: {type(error).__name__}")


def test_a_file_that_failed_for_want_of_memory_is_read_again_next_run(
    warehouse, form, landing, monkeypatch
) -> None:
    write_csv(landing / "fms" / "export.csv", [submission("u1")])
    real_stage = landing_zone.stage_export

    def stage_without_memory(*args):
        raise MemoryError()

    monkeypatch.setattr(landing_zone, "stage_export", stage_without_memory)
    [failed] = _ingest(warehouse, form, landing, "r1").files
    assert failed.status == "failed"
    assert "read again by the next refresh" in (failed.reason or "")

    monkeypatch.setattr(landing_zone, "stage_export", real_stage)
    [loaded] = _ingest(warehouse, form, landing, "r2").files

    assert loaded.status == "loaded"


def test_a_link_out_of_the_landing_zone_is_never_opened(
    warehouse, form, landing, tmp_path, monkeypatch
) -> None:
    secret = write_csv(tmp_path / "secret" / "other.csv", [submission("secret")])
    (landing / "fms" / "link.csv").symlink_to(secret)
    opened: list[Path] = []
    real_digest = landing_zone.digest_file
    monkeypatch.setattr(
        landing_zone, "digest_file", lambda p, *a: opened.append(p) or real_digest(p, *a)
    )

    [result] = _ingest(warehouse, form, landing, "r1").files

    assert result.status == "failed"
    assert "outside the landing zone" in (result.reason or "")
    assert opened == []
    assert warehouse.execute("SELECT count(*) FROM raw.fms_submissions").fetchone() == (0,)
    assert _ingest(warehouse, form, landing, "r2").files == []


def test_a_link_inside_the_landing_zone_is_followed(warehouse, form, landing) -> None:
    target = write_csv(landing / "fms" / "export.csv", [submission("u1")])
    (landing / "fms" / "alias.csv").symlink_to(target)

    summary = _ingest(warehouse, form, landing, "r1")

    assert sorted(f.status for f in summary.files) == ["loaded", "skipped_same_bytes"]
    assert warehouse.execute("SELECT _uuid FROM raw.fms_submissions").fetchall() == [("u1",)]


def test_a_file_named_as_a_glob_reads_only_itself(warehouse, form, landing) -> None:
    write_csv(landing / "fms" / "a.csv", [submission("a1"), submission("a2")])
    write_csv(landing / "fms" / "*.csv", [submission("star")])

    _ingest(warehouse, form, landing, "r1")

    load = _file_load(warehouse, "fms", "*.csv")
    assert (load["rows_read"], load["rows_loaded"]) == (1, 1)
    assert warehouse.execute(
        "SELECT source_file FROM raw.fms_submissions WHERE _uuid = 'star'"
    ).fetchall() == [("*.csv",)]


def test_a_file_name_with_a_newline_is_recorded_as_it_is_and_shown_escaped(
    warehouse, form, landing
) -> None:
    name = "march\n\x1b[31mexport.csv"
    write_csv(landing / "fms" / name, [submission("u1")])
    (landing / "fms" / "bad\nname.csv").write_bytes(b"")

    summary = _ingest(warehouse, form, landing, "r1")

    assert _file_load(warehouse, "fms", name)["status"] == "loaded"
    shown = {f.file_name for f in summary.files}
    assert shown == {"march\\n\\x1b[31mexport.csv", "bad\\nname.csv"}
    assert _file_load(warehouse, "fms", "bad\nname.csv")["reason"].startswith("bad\\nname.csv: ")


def test_the_sha256_of_a_refused_link_is_of_its_target_name_not_its_bytes(
    warehouse, form, landing
) -> None:
    (landing / "fms" / "passwd.csv").symlink_to("/etc/passwd")

    _ingest(warehouse, form, landing, "r1")

    recorded = _file_load(warehouse, "fms", "passwd.csv")["sha256"]
    assert recorded != hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()


def test_fmw_refresh_retry_failed_reaches_the_nightly_flow(monkeypatch, tmp_path) -> None:
    from flows import cli, nightly

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # no ephemeral API set up
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")
    calls: list[dict[str, object]] = []

    def recorded(**kwargs: object) -> None:
        calls.append(kwargs)
        raise RuntimeError("recorded")

    monkeypatch.setattr(nightly, "nightly_refresh", recorded)

    cli.main(["refresh", "--data-dir", str(tmp_path), "--retry-failed"])
    cli.main(["refresh", "--data-dir", str(tmp_path)])

    assert [call["retry_failed"] for call in calls] == [True, False]
