"""What a quality suite run produces, and the run parameters suites read: plain data.

Kept apart from flows.quality.gx_duckdb, which imports Great Expectations (about 4 s of CPU): a
refresh reads, records and renders reports without importing GX; only its quality worker
(flows.quality.worker_parent) runs GX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

ParameterValue = int | float | str | date | None

# The newest interview date a run accepts: its own date plus one day (time zones), a parameter.
MAX_DATE_PARAMETER = "max_interview_date"


@dataclass(frozen=True)
class CheckResult:
    suite: str
    check_name: str  # e.g. "expect_column_values_to_not_be_null(respondents)", unique in the suite
    severity: str  # "critical" | "warning"
    success: bool | None  # None when GX raised an exception instead of giving a verdict
    observed: str  # observed value / unexpected count and examples / the exception message
    error: str | None  # the exception message when success is None


@dataclass(frozen=True)
class NewRows:
    """The rows of a table whose `column` (when they were loaded) is later than `after`, or NULL."""

    column: str
    after: datetime

    def describe(self) -> str:
        return f"rows with {self.column} after {self.after.isoformat(sep=' ')}"


@dataclass(frozen=True)
class SuiteValidation:
    """One suite run: the verdicts, what each checked, and GX's full result (JSON-ready)."""

    suite: str
    table: str
    checks: list[CheckResult]
    expectations: list[dict[str, Any]] = field(repr=False)  # each check's configuration
    gx_result: dict[str, Any] = field(repr=False)
    # Set when the suite's row-level checks saw only these rows (the others, the whole table).
    new_rows: NewRows | None = None


def verdict(result: CheckResult) -> tuple[str, str]:
    """(CSS class, text) for one check."""
    if result.success is None:
        return "error", "ERROR (not evaluated)"
    if result.success:
        return "passed", "passed"
    return ("failed", "FAILED") if result.severity == "critical" else ("warning", "warning")
