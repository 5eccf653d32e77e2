"""Keeping a run's quality results: ops.quality_results and GX's full JSON per suite run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from flows.config import Settings
from flows.quality.gates import QualityReport
from flows.quality.results import CheckResult
from flows.warehouse.schema import create_table, insert_rows


def record_quality_results(
    connection: duckdb.DuckDBPyConnection, run_id: str, report: QualityReport
) -> None:
    """Write the run's verdicts to ops.quality_results in the given database."""
    create_table(connection, "ops.quality_results")
    insert_rows(
        connection,
        "ops.quality_results",
        ("run_id", "suite", "check_name", "severity", "success", "observed"),
        [
            (run_id, r.suite, r.check_name, r.severity, r.success, r.observed)
            for r in report.results
        ],
    )


def results_dir(settings: Settings, run_id: str) -> Path:
    return settings.internal_dir / "quality" / run_id


def keep_results(settings: Settings, run_id: str, report: QualityReport) -> Path:
    """GX's full results, one JSON file per suite run, plus summary.json; returns the folder."""
    folder = results_dir(settings, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for validation in report.validations:
        name = validation.suite.replace(":", "__")
        _write_json(folder / f"{name}.json", validation.gx_result)
    summary = {
        "run_id": run_id,
        "summary": report.summary(),
        "blocks_publication": report.blocks_publication,
        "checks": [_check_json(r) for r in report.results],
    }
    _write_json(folder / "summary.json", summary)
    return folder


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "suite": result.suite,
        "check_name": result.check_name,
        "severity": result.severity,
        "success": result.success,
        "observed": result.observed,
        "error": result.error,
    }
