"""dbt is imported on a background thread during ingest; Great Expectations never in the
refresh's own process (its quality worker imports it: tests/quality/test_worker.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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


def test_preloading_builds_the_vega_bundle_that_publish_and_the_data_docs_read(
    tmp_path: Path,
) -> None:
    from flows.vega import vega_bundle

    _run(
        "from pathlib import Path\n"
        "from flows.transform.preload import preload_in_background\n"
        f"preload_in_background(vega_cache=Path({str(tmp_path)!r}), modules=()).join()\n"
    )

    [bundle] = tmp_path.glob("vega-bundle-*.js")
    assert bundle == vega_bundle(tmp_path)  # found, not built again
    assert "vegaEmbed" in bundle.read_text(encoding="utf-8")
