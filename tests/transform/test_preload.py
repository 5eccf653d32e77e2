"""dbt is imported on a background thread during ingest; Great Expectations never in the
refresh's own process (its quality worker imports it: tests/quality/test_worker.py)."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout.strip()


def test_importing_the_flow_and_its_quality_reports_does_not_import_dbt_or_gx() -> None:
    loaded = _run(
        "import sys, flows.nightly, flows.quality.gates; "
        "print(sorted(m for m in ('dbt.cli.main', 'flows.transform.protection', "
        "'great_expectations') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_preloading_imports_dbt_and_the_protection_pass_on_another_thread_not_gx() -> None:
    modules = ("dbt.cli.main", "flows.transform.protection", "great_expectations")
    loaded = _run(
        "import sys\n"
        "from flows.transform.preload import preload_in_background\n"
        "preload_in_background().join()\n"
        f"print(sorted(m for m in {modules!r} if m in sys.modules))"
    )
    assert loaded == "['dbt.cli.main', 'flows.transform.protection']"
