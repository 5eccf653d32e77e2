"""`fmw audit-disclosure --lake`: the attacker's audit of what a lake publishes, read from its
published catalog as an analyst reads it (real Postgres catalog, shared data folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import main
from flows.config import resolve_settings
from flows.disclosure.audit import audit_database
from flows.publish.lake_release import publish_to_lake
from tests.disclosure.test_audit import K, disclosing_2x2, protected_2x2
from tests.helpers.postgres import LakeUnderTest


def _publish(lake: LakeUnderTest, tmp_path: Path, candidate: Path, run_id: str) -> None:
    settings = resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=str(lake.data))
    publish_to_lake(settings, candidate, run_id)


def _audit(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["audit-disclosure", "--k", str(K), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_audit_reads_the_lakes_published_catalog_and_finds_what_the_file_audit_finds(
    lake, tmp_path, capsys
):
    disclosing = disclosing_2x2(tmp_path / "disclosing.duckdb")
    _publish(lake, tmp_path, disclosing, "20260301T020000Z-aaaaaa")

    status, out, err = _audit(*lake.args(), capsys=capsys)

    assert status == 2, err
    from_file = audit_database(disclosing, K)
    assert out.splitlines()[0] == from_file.summary() + "."
    assert "1 exactly disclosed" in out.splitlines()[0]
    assert "FAIL: audited marts.fms_corridor_monthly" in out


def test_the_audit_follows_the_publication_analysts_see_and_reads_the_lake_from_the_environment(
    lake, tmp_path, capsys, monkeypatch
):
    _publish(lake, tmp_path, disclosing_2x2(tmp_path / "d.duckdb"), "20260301T020000Z-aaaaaa")
    _publish(lake, tmp_path, protected_2x2(tmp_path / "p.duckdb"), "20260302T020000Z-bbbbbb")
    for name, value in lake.environment().items():
        monkeypatch.setenv(name, value)

    status, out, err = _audit(capsys=capsys)

    assert status == 0, err
    assert "0 exactly disclosed, 0 with upper bound < k" in out.splitlines()[0]
    assert "PASS: audited" in out


def test_the_audit_runs_with_an_analysts_role_that_reaches_the_published_catalog_only(
    lake, tmp_path, capsys
):
    _publish(lake, tmp_path, disclosing_2x2(tmp_path / "d.duckdb"), "20260301T020000Z-aaaaaa")
    as_analyst = lake.url_as(lake.analyst_role("auditor"))

    status, out, err = _audit("--lake", as_analyst, "--lake-data", str(lake.data), capsys=capsys)

    assert status == 2, err
    assert "1 exactly disclosed" in out.splitlines()[0]


def test_an_empty_lake_is_said_to_have_nothing_published(lake, capsys):
    status, out, err = _audit(*lake.args(), capsys=capsys)

    assert status == 1
    assert out == ""
    assert "nothing is published yet in" in err and "(published catalog)" in err
