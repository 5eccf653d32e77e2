"""The cost of disclosure control on a refreshed data directory: protection pass and audit.

    .venv/bin/python bench/disclosure.py DATA_DIR [--k K] [--json]

Both run inside every refresh (the protection pass as dbt's `int_disclosure_pattern`, the
audit as the `disclosure_audit` quality suite); here each is timed alone, in this process,
on what a refresh left behind: the protection pass on the internal database's cells and
relations (`intermediate.int_disclosure_cells`, `int_disclosure_relations`), the audit on
the published file. `bench/run.py` calls `measure` after each size's full refresh.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.disclosure.audit import audit_database  # noqa: E402
from flows.transform.protection import cells_of, protect, relations_of  # noqa: E402


def protection_seconds(internal_db: Path, k: int) -> dict[str, object]:
    """Time the protection pass alone on the cells and relations a refresh built."""
    with duckdb.connect(str(internal_db), read_only=True) as connection:
        cells = connection.sql("select * from intermediate.int_disclosure_cells").df()
        relations = connection.sql("select * from intermediate.int_disclosure_relations").df()
    started = time.perf_counter()
    verdicts = protect(cells_of(cells), relations_of(relations), k)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cells": len(cells),
        "relation_members": len(relations),
        "verdicts": dict(Counter(verdicts.values())),
    }


def audit_seconds(published_db: Path, k: int) -> dict[str, object]:
    """Time the attacker's audit of the published file."""
    started = time.perf_counter()
    report = audit_database(published_db, k)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "passes": report.passes, "summary": report.summary()}


def measure(data_dir: Path, k: int) -> dict[str, object]:
    return {
        "k": k,
        "protection": protection_seconds(data_dir / "internal" / "warehouse.duckdb", k),
        "audit": audit_seconds(data_dir / "published" / "warehouse.duckdb", k),
    }


def markdown_line(result: dict[str, object], refresh_seconds: float | None = None) -> str:
    protection, audit = result["protection"], result["audit"]
    both = protection["seconds"] + audit["seconds"]
    share = f", {both / refresh_seconds:.0%} of the full refresh" if refresh_seconds else ""
    withheld = protection["verdicts"].get("primary", 0) + protection["verdicts"].get("secondary", 0)
    return (
        f"- disclosure control at k = {result['k']}: protection pass {protection['seconds']:.1f} s "
        f"({protection['cells']:,} cells, {withheld:,} withheld of which "
        f"{protection['verdicts'].get('secondary', 0):,} secondary), audit "
        f"{audit['seconds']:.1f} s ({audit['summary']}); together {both:.1f} s{share}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = measure(args.data_dir, args.k)
    print(json.dumps(result, indent=2) if args.json else markdown_line(result))
    return 0 if result["audit"]["passes"] else 2


if __name__ == "__main__":
    sys.exit(main())
