"""The later stages' libraries are imported on a background thread during ingest."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout.strip()


def test_importing_the_flow_does_not_import_dbt_or_great_expectations() -> None:
    loaded = _run(
        "import sys, flows.nightly; "
        "print(sorted(m for m in ('dbt.cli.main', 'great_expectations') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_preloading_imports_dbt_and_the_quality_stage_on_another_thread() -> None:
    loaded = _run(
        "import sys\n"
        "from flows.preload import preload_in_background\n"
        "preload_in_background().join()\n"
        "print(sorted(m for m in ('dbt.cli.main', 'flows.quality', 'great_expectations')"
        " if m in sys.modules))"
    )
    assert loaded == "['dbt.cli.main', 'flows.quality', 'great_expectations']"
