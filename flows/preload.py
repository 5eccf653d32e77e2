"""Import the later stages' heavy libraries in the background while ingest runs.

dbt and Great Expectations take about 8 s to import on 2 cores. Ingest spends its time
inside DuckDB, which releases the GIL, so importing them on a second thread during ingest
hides that cost. If a background import fails, the stage's own import raises the error
where it is needed; nothing here is required for correctness.
"""

from __future__ import annotations

import importlib
import threading

LATER_STAGE_MODULES = ("dbt.cli.main", "flows.quality")


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # the stage that needs it imports it again and reports the error
            return


def preload_in_background(modules: tuple[str, ...] = LATER_STAGE_MODULES) -> threading.Thread:
    thread = threading.Thread(target=_import_all, args=(modules,), name="fmw-preload", daemon=True)
    thread.start()
    return thread
