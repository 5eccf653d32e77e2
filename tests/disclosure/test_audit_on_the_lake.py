"""`fmw audit-disclosure --lake`: the attacker's audit of what a lake publishes, read from its
published catalog as an analyst reads it (real Postgres catalog, shared data folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import main
from flows.config import resolve_settings
from flows.disclosure.audit import audit_database
from flows.publish.lake_release import publish_to_lake
from tests.disclosure.test_audit import FEB, JAN, K, corridor, crossing, safe_total
from tests.helpers.postgres import LakeUnderTest
from tests.helpers.published_db import published_db


def _disclosing(path: Path) -> Path:
    """A 2x2 with one small cell and only primary suppression: the cell is exactly 2."""
    return published_db(
        path,
        {
            "marts.fms_corridor_monthly": [
                corridor(JAN, "THA", None),
                corridor(JAN, "CHN", 10),
                corridor(FEB, "THA", 10),
                corridor(FEB, "CHN", 10),
            ],
            "marts.crossing_point_monthly": [crossing(JAN, 12), crossing(FEB, 20)],
            "marts.fms_safe_migration_quarterly": safe_total("THA", 12) + safe_total("CHN", 20),
        },
    )


def _protected(path: Path) -> Path:
    """The same 2x2 with the small cell's whole rectangle hidden."""
    return published_db(
        path,
        {
            "marts.fms_corridor_monthly": [
                corridor(JAN, "THA", None),
                corridor(JAN, "CHN", None),
                corridor(FEB, "THA", None),
                corridor(FEB, "CHN", None),
                corridor(FEB, "VNM", 10),
            ],
            "marts.crossing_point_monthly": [crossing(JAN, 7), crossing(FEB, 17)],
            "marts.fms_safe_migration_quarterly": (
                safe_total("THA", 7) + safe_total("CHN", 7) + safe_total("VNM", 10)
            ),
        },
    )


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
    disclosing = _disclosing(tmp_path / "disclosing.duckdb")
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
    _publish(lake, tmp_path, _disclosing(tmp_path / "d.duckdb"), "20260301T020000Z-aaaaaa")
    _publish(lake, tmp_path, _protected(tmp_path / "p.duckdb"), "20260302T020000Z-bbbbbb")
    for name, value in lake.environment().items():
        monkeypatch.setenv(name, value)

    status, out, err = _audit(capsys=capsys)

    assert status == 0, err
    assert "0 exactly disclosed, 0 with upper bound < k" in out.splitlines()[0]
    assert "PASS: audited" in out


def test_the_audit_runs_with_an_analysts_role_that_reaches_the_published_catalog_only(
    lake, tmp_path, capsys
):
    _publish(lake, tmp_path, _disclosing(tmp_path / "d.duckdb"), "20260301T020000Z-aaaaaa")
    analyst = f"auditor_{lake.database}"  # roles belong to the whole (session's) cluster
    lake.server.psql(
        f"CREATE ROLE {analyst} LOGIN; "
        f"GRANT CONNECT ON DATABASE {lake.database} TO {analyst}; "
        f"GRANT USAGE ON SCHEMA fmw_published TO {analyst}; "
        f"GRANT SELECT ON ALL TABLES IN SCHEMA fmw_published TO {analyst}",
        lake.database,
    )
    as_analyst = f"ducklake:postgres:{lake.server.dsn(lake.database, user=analyst)}"

    status, out, err = _audit("--lake", as_analyst, "--lake-data", str(lake.data), capsys=capsys)

    assert status == 2, err
    assert "1 exactly disclosed" in out.splitlines()[0]


def test_an_empty_lake_is_said_to_have_nothing_published(lake, capsys):
    status, out, err = _audit(*lake.args(), capsys=capsys)

    assert status == 1
    assert out == ""
    assert "nothing is published yet in" in err and "(published catalog)" in err
