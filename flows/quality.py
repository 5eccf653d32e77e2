"""Quality gates: run the committed expectation suites on a candidate database and decide
whether it may be published.

A critical check that fails blocks publication. A check that could not be evaluated (GX
raised instead of giving a verdict) is neither a pass nor a data failure: it is reported
as an error, and a critical one blocks publication too, because nobody verified the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.config import EXPECTATIONS_DIR
from flows.gx_duckdb import CheckResult, run_suite

# Suites run against the candidate (published) database, by name.
PUBLISHED_SUITES = ("marts_fms_corridor_monthly",)


@dataclass(frozen=True)
class QualityReport:
    results: list[CheckResult]

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "critical" and r.success is False]

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.success is None]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "warning" and r.success is False]

    @property
    def blocks_publication(self) -> bool:
        return bool(self.critical_failures) or any(r.severity == "critical" for r in self.errors)

    def summary(self) -> str:
        passed = sum(1 for r in self.results if r.success is True)
        return (
            f"{passed}/{len(self.results)} checks passed, "
            f"{len(self.critical_failures)} critical failures, {len(self.warnings)} warnings, "
            f"{len(self.errors)} could not be evaluated"
        )


def run_quality(database: Path, suites: tuple[str, ...] = PUBLISHED_SUITES) -> QualityReport:
    results: list[CheckResult] = []
    for suite in suites:
        results.extend(run_suite(database, suite, EXPECTATIONS_DIR))
    return QualityReport(results)


def record_quality_results(
    connection: duckdb.DuckDBPyConnection, run_id: str, report: QualityReport
) -> None:
    """Write the run's verdicts to ops.quality_results in the given database."""
    connection.execute("CREATE SCHEMA IF NOT EXISTS ops")
    connection.execute(
        """
        CREATE TABLE IF NOT EXISTS ops.quality_results (
            run_id VARCHAR, suite VARCHAR, check_name VARCHAR, severity VARCHAR,
            success BOOLEAN, observed VARCHAR
        )
        """
    )
    connection.executemany(
        "INSERT INTO ops.quality_results VALUES (?, ?, ?, ?, ?, ?)",
        [
            (run_id, r.suite, r.check_name, r.severity, r.success, r.observed)
            for r in report.results
        ],
    )
