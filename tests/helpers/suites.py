"""Running one expectation suite in a test and reading its verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from flows.quality.gx_duckdb import validate_suite
from flows.quality.results import CheckResult, ParameterValue


def run_suite(
    db_path: Path,
    suite_name: str,
    directory: Path,
    parameters: Mapping[str, ParameterValue] | None = None,
    table: str | None = None,
    values_in_observed: bool = True,
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> list[CheckResult]:
    """The verdicts of `validate_suite`."""
    return validate_suite(
        db_path,
        suite_name,
        directory,
        parameters,
        table,
        values_in_observed,
        memory_limit=memory_limit,
    ).checks
