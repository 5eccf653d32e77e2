"""The disclosure audit as a critical quality suite, run on every refresh's candidate database.

Its verdicts go to ops.quality_results like any suite's and its summary line to the run
summary. The observed texts hold counts per table only, never a cell's key or interval: and
every figure in them is computed from the candidate alone, so publishing them beside it tells
a reader nothing the file does not.
"""

from __future__ import annotations

import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from flows.disclosure.audit import AuditReport, audit_database
from flows.quality.results import CheckResult

SUITE = "disclosure_audit"
EXACT = "no_suppressed_cell_exactly_disclosed"
UNDER_K = "every_suppressed_cell_upper_bound_at_least_k"
MEASURES = "no_measure_over_a_suppressed_or_small_count"
CONSISTENT = "published_numbers_consistent"
CHECKS = (EXACT, UNDER_K, MEASURES, CONSISTENT)


@dataclass(frozen=True)
class DisclosureVerdict:
    checks: list[CheckResult]
    summary: str  # for the run summary


def disclosure_gate(candidate: Path, k: int) -> DisclosureVerdict:
    """The audit's checks on a candidate database; not evaluated (critical) if it raised."""
    try:
        report = audit_database(candidate, k)
    except Exception as error:  # noqa: BLE001 - an audit that could not run must block, not crash
        message = "".join(traceback.format_exception_only(error)).strip()
        checks = [CheckResult(SUITE, name, "critical", None, message, message) for name in CHECKS]
        return DisclosureVerdict(checks, f"could not be evaluated: {message}")
    return DisclosureVerdict(checks_of(report), f"{report.summary()} ({report.seconds:.1f} s)")


def checks_of(report: AuditReport) -> list[CheckResult]:
    cells = len(report.intervals)
    exact = _per_table(i.cell.table for i in report.exact)
    under = _per_table(i.cell.table for i in report.under_k)
    measures = _per_table(f.table for f in report.measure_findings)
    width, lowest = report.min_interval(), report.min_upper()
    return [
        _check(
            EXACT,
            not report.exact,
            f"{len(report.exact)} of {cells} suppressed cells exactly disclosed{exact}; "
            f"narrowest protection interval {_figure(width)}",
        ),
        _check(
            UNDER_K,
            not report.under_k,
            f"{len(report.under_k)} of {cells} suppressed cells with upper bound < k={report.k}"
            f"{under}; lowest upper bound {_figure(lowest)}",
        ),
        _check(
            MEASURES,
            not report.measure_findings,
            f"{len(report.measure_findings)} shares, medians or ratios published over a "
            f"suppressed count or fewer than k{measures}",
        ),
        _check(
            CONSISTENT,
            not report.problems,
            f"{len(report.problems)} relations the published numbers contradict"
            + (f": {report.problems[0]}" if report.problems else ""),
        ),
    ]


def _check(name: str, success: bool, observed: str) -> CheckResult:
    return CheckResult(SUITE, name, "critical", success, observed, None)


def _per_table(tables: object) -> str:
    counts = Counter(tables)  # type: ignore[call-overload]
    if not counts:
        return ""
    return " (" + ", ".join(f"{table}: {n}" for table, n in sorted(counts.items())) + ")"


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    return "unbounded" if value == float("inf") else str(int(value))
