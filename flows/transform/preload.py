"""Import dbt and the protection pass in the background while ingest runs.

dbt takes a few seconds to import on 2 cores. Ingest spends its time inside DuckDB, which
releases the GIL, so the import can run on a second thread meanwhile. (Great Expectations,
the other slow import, is imported by the refresh's quality worker process instead:
flows.quality.worker_parent.) On the 2-core benchmark machine DuckDB keeps both cores busy, so the
imports mostly compete with ingest: 1 M-submission refreshes with and without this thread
(and with it at the lowest CPU priority) came out within the run-to-run noise of about 5 s
(2026-11-28). It pays where ingest waits on disk or has cores to spare. If a background
import fails, the stage's own import raises the error where it is needed; nothing here is
required for correctness.
"""

from __future__ import annotations

import importlib
import threading

# dbt, and the protection pass that dbt's Python model int_disclosure_pattern runs: its
# import (SciPy's optimize, HiGHS) cost ~0.45 s on the build's critical path, where every
# model after it waits.
LATER_STAGE_MODULES = ("dbt.cli.main", "flows.transform.protection")


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # the stage that needs it imports it again and reports the error
            return


def preload_in_background(modules: tuple[str, ...] = LATER_STAGE_MODULES) -> threading.Thread:
    """Import `modules` on a daemon thread."""
    thread = threading.Thread(target=_import_all, args=(modules,), name="fmw-preload", daemon=True)
    thread.start()
    return thread
