"""Ingest each hostile landing file (tests/helpers/hostile_files.py) alone, in a fresh
process, and print a markdown table: verdict, reason, peak memory and time.

    .venv/bin/python bench/hostile_corpus.py                 # this source tree
    .venv/bin/python bench/hostile_corpus.py --code /tmp/old # another tree's `flows`, to compare

The files are sized for the default limits (flows.config.DEFAULT_INGEST_LIMITS). Each
ingest runs under an address-space cap (--cap-gb) and a timeout, so that code without the
limits cannot take the machine down with a bomb. Nothing is written outside a temporary
folder; the table goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.config import DEFAULT_INGEST_LIMITS  # noqa: E402
from tests.helpers.hostile_files import hostile_cases, write_case  # noqa: E402

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import duckdb
from flows.form.xlsform import default_form
from flows.ingest.landing_zone import ingest_landing_zone
from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from flows.warehouse.schema import ensure_schema

landing, database = Path(sys.argv[1]), sys.argv[2]
connection = duckdb.connect(database, config={"memory_limit": DEFAULT_DUCKDB_MEMORY_LIMIT})
form = default_form()
ensure_schema(connection, form)
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    ingest_landing_zone(connection, form, landing, "measure")
    outcome = {"verdicts": connection.execute(
        "SELECT status, coalesce(reason, (SELECT string_agg(DISTINCT q.reason, '; ') "
        "FROM quarantine.rows AS q)), rows_read, rows_loaded, rows_duplicate, rows_quarantined "
        "FROM ops.file_loads").fetchall()}
except BaseException as error:
    outcome = {"crash": f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"}
outcome["seconds"] = time.perf_counter() - started
outcome["baseline_mb"] = baseline / 1024
outcome["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(outcome, default=str))
"""


def _measure(code: Path, landing: Path, database: Path, cap_gb: float, timeout: int) -> dict:
    def cap() -> None:
        limit = int(cap_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    environment = os.environ | {"PYTHONPATH": str(code)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(landing), str(database)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            cwd=code,
            preexec_fn=cap,
        )
    except subprocess.TimeoutExpired:
        return {"crash": f"still running after {timeout} s (killed)"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " ".join(done.stderr.strip().splitlines()[-1:])[:160]
        return {"crash": f"process died (status {done.returncode}): {tail}"}
    return json.loads(lines[-1])


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the source tree to measure")
    parser.add_argument("--cap-gb", type=float, default=4.0, help="address-space cap per run")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per file")
    parser.add_argument("--only", default="", help="only the cases whose id contains this")
    args = parser.parse_args()
    print("| case | verdict | rows read/loaded/dup/quar | reason | peak MB (+ over start) | s |")
    print("|---|---|---|---|---|---|")
    for case in hostile_cases(DEFAULT_INGEST_LIMITS):
        if args.only not in case.id:
            continue
        with tempfile.TemporaryDirectory() as folder:
            landing = Path(folder) / "landing"
            write_case(landing, case)
            result = _measure(
                args.code.resolve(), landing, Path(folder) / "w.duckdb", args.cap_gb, args.timeout
            )
        if "crash" in result:
            verdict, counts, reason = "CRASH", "", result["crash"]
        elif not result["verdicts"]:
            verdict, counts, reason = "no verdict", "", "(not in ops.file_loads)"
        else:
            status, reason, *numbers = result["verdicts"][0]
            verdict, counts = status, "/".join(str(n) for n in numbers)
            reason = reason or ""
        memory = (
            f"{result['peak_mb']:.0f} (+{result['peak_mb'] - result['baseline_mb']:.0f})"
            if "peak_mb" in result
            else ""
        )
        seconds = f"{result['seconds']:.2f}" if "seconds" in result else ""
        print(
            f"| {case.id} | {verdict} | {counts} | {_cell(reason)[:120]} | {memory} | {seconds} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
