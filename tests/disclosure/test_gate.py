"""The disclosure audit as a quality gate: critical checks whose observed texts name figures,
never a cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.config import resolve_settings
from flows.disclosure.gate import CHECKS, SUITE, disclosure_gate
from flows.quality.gates import QualityReport
from tests.disclosure.test_audit import FEB, JAN, MAR, K, corridor, safe_total
from tests.helpers.published_db import published_db


def leaky(path: Path) -> Path:
    return published_db(
        path,
        {
            "marts.fms_corridor_monthly": [
                corridor(JAN, "MYS", None),
                corridor(FEB, "MYS", 6),
                corridor(MAR, "MYS", 6),
            ],
            "marts.fms_safe_migration_quarterly": safe_total("MYS", 13),
        },
    )


def protected(path: Path) -> Path:
    return published_db(
        path,
        {
            "marts.fms_corridor_monthly": [
                corridor(JAN, "MYS", None),
                corridor(FEB, "MYS", None),
                corridor(MAR, "MYS", 6),
            ],
            "marts.fms_safe_migration_quarterly": safe_total("MYS", 13),
        },
    )


def test_a_leaky_candidate_fails_critical_checks_that_name_no_cell(tmp_path: Path) -> None:
    verdict = disclosure_gate(leaky(tmp_path / "candidate.duckdb"), K)

    checks = {c.check_name: c for c in verdict.checks}
    assert set(checks) == set(CHECKS)
    assert {(c.suite, c.severity) for c in checks.values()} == {(SUITE, "critical")}
    exact = checks["no_suppressed_cell_exactly_disclosed"]
    assert exact.success is False
    assert exact.observed.startswith("1 of ")
    assert "(marts.fms_corridor_monthly: 1)" in exact.observed
    assert checks["every_suppressed_cell_upper_bound_at_least_k"].success is False
    for check in verdict.checks:  # no key of the disclosed cell reaches ops.quality_results
        assert not {"MYS", "LA-BK", "2026-01"} & set(check.observed.replace(",", " ").split())
        assert "MYS" not in check.observed and "2026" not in check.observed
    report = QualityReport.of([], None, verdict.checks, verdict.summary)
    assert report.blocks_publication
    assert "disclosure audit: " in report.summary() and "1 exactly disclosed" in report.summary()


def test_a_protected_candidate_passes_the_gate(tmp_path: Path) -> None:
    verdict = disclosure_gate(protected(tmp_path / "candidate.duckdb"), K)

    assert [c.success for c in verdict.checks] == [True] * len(CHECKS)
    assert not QualityReport.of([], None, verdict.checks, verdict.summary).blocks_publication
    assert verdict.summary.startswith("7 suppressed cells, 0 exactly disclosed, 0 with upper")


def test_an_audit_that_cannot_run_blocks_as_not_evaluated(tmp_path: Path) -> None:
    not_a_database = tmp_path / "candidate.duckdb"
    not_a_database.write_text("not a database")

    verdict = disclosure_gate(not_a_database, K)

    assert [c.success for c in verdict.checks] == [None] * len(CHECKS)
    assert QualityReport.of([], None, verdict.checks, verdict.summary).blocks_publication
    assert verdict.summary.startswith("could not be evaluated")


def test_the_gate_is_on_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FMW_DISCLOSURE_AUDIT", raising=False)
    assert resolve_settings().disclosure_audit is True
    monkeypatch.setenv("FMW_DISCLOSURE_AUDIT", "off")
    assert resolve_settings().disclosure_audit is False
    monkeypatch.setenv("FMW_DISCLOSURE_AUDIT", "sometimes")
    with pytest.raises(ValueError, match="FMW_DISCLOSURE_AUDIT must be on or off"):
        resolve_settings()


def test_the_command_says_when_there_is_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    assert main(["audit-disclosure", "--database", str(tmp_path / "none.duckdb")]) == 1
    assert "no database at" in capsys.readouterr().err
