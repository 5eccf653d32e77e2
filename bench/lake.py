"""The lake backend beside the embedded file: the same refreshes, and analysts' query latency.

    .venv/bin/python bench/lake.py                       # 100 k submissions, a throwaway Postgres
    .venv/bin/python bench/lake.py --surveys 1000000
    .venv/bin/python bench/lake.py --lake 'ducklake:postgres:dbname=fmw host=...' --lake-data DIR

For each mode (file, then lake) on copies of one CSV landing zone: a full refresh, a cumulative
nightly (the latest export again plus 1% new submissions, as Kobo exports them), and a refresh
with nothing new. During the cumulative nightly an analyst in another process runs the same
query again and again, each on a new connection as `fmw query` opens one (the published file,
or the published catalog read-only), and its latency's p50 / p95 are reported, with any error.
Every refresh runs in its own process against one Prefect server, as bench/run.py does. Without
--lake, a Postgres cluster is started in a temporary folder (Debian's postgresql, as the tests
do). Prints a table and writes --out (JSON).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.sample.generator import generate_landing_zone  # noqa: E402

SEED = 20260301  # bench/run.py's: the same landing zones at the same sizes
QUERY = (
    "SELECT month, direction, sum(respondents) AS respondents "
    "FROM marts.fms_corridor_monthly GROUP BY ALL ORDER BY ALL"
)

REFRESH_CHILD = """
import json, sys, time
started = time.perf_counter()
from flows.nightly import nightly_refresh
lake, lake_data = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 3 else (None, None)
outcome = nightly_refresh(landing_dir=sys.argv[1], data_dir=sys.argv[2], lake=lake,
                          lake_data=lake_data)
print(json.dumps({"wall_seconds": time.perf_counter() - started, "status": outcome.status,
                  "stage_seconds": outcome.stage_seconds,
                  "files_failed": {f"{f['source']}/{f['file_name']}": f["reason"]
                                   for f in outcome.files if f["status"] == "failed"}}))
"""


def _run_py() -> ModuleType:
    """bench/run.py, for its Prefect server and its cumulative export."""
    spec = importlib.util.spec_from_file_location("bench_run", Path(__file__).with_name("run.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _machine() -> dict[str, str]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}",
    }


def _log(message: str) -> None:
    print(f"[bench lake {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def refresh(
    run: ModuleType, landing: Path, data: Path, api_url: str, lake: tuple[str, str] | None
) -> dict[str, object]:
    env = run._prefect_env(data / "internal" / "prefect", api_url)
    args = [str(landing), str(data), *(lake or ())]
    done = subprocess.run(
        [sys.executable, "-c", REFRESH_CHILD, *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"refresh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    run._check_no_file_failed_unplanted(measured, landing)  # it would time less work
    return measured


def reader(published: str, lake: str | None, lake_data: str | None, out: str, stop: str) -> None:
    """The analyst: one query per new confined connection until `stop` exists."""
    from flows.analyst.query import run_confined
    from flows.warehouse.lake import PUBLISHED, Lake

    database = Lake(lake, lake_data, PUBLISHED, True) if lake and lake_data else Path(published)
    with open(out, "a") as answers:
        while not os.path.exists(stop):
            started = time.perf_counter()
            try:
                _, rows = run_confined(database, QUERY)
                line: dict[str, object] = {"rows": len(rows)}
            except Exception as error:  # noqa: BLE001 - counted, not raised
                line = {"error": f"{type(error).__name__}: {error}"}
            line["seconds"] = time.perf_counter() - started
            answers.write(json.dumps(line) + "\n")
            answers.flush()
            time.sleep(0.05)


def _latency(path: Path) -> dict[str, object]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    seconds = sorted(line["seconds"] for line in lines if "error" not in line)
    errors = [line["error"] for line in lines if "error" in line]
    quantiles = statistics.quantiles(seconds, n=20) if len(seconds) >= 2 else [float("nan")] * 19
    return {
        "queries": len(lines),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "p50_ms": 1000 * statistics.median(seconds) if seconds else None,
        "p95_ms": 1000 * quantiles[18],
    }


def bench_mode(
    run: ModuleType,
    mode: str,
    source: Path,
    manifest: dict[str, object],
    work: Path,
    surveys: int,
    api_url: str,
    lake: tuple[str, str] | None,
) -> dict[str, object]:
    root = work / mode
    shutil.rmtree(root, ignore_errors=True)
    landing, data = root / "landing", root / "data"
    shutil.copytree(source, landing)
    _log(f"{mode}: full refresh")
    full = refresh(run, landing, data, api_url, lake)
    run.add_cumulative_export(landing, manifest, root, surveys, SEED + 1)
    answers, stop = root / "answers.jsonl", root / "stop"
    args = [str(data / "published" / "warehouse.duckdb"), *(lake or ("", "")), str(answers)]
    analyst = subprocess.Popen([sys.executable, __file__, "--reader", *args, str(stop)], cwd=ROOT)
    _log(f"{mode}: cumulative nightly, an analyst querying meanwhile")
    try:
        nightly = refresh(run, landing, data, api_url, lake)
    finally:
        stop.touch()
        analyst.wait(timeout=300)
    _log(f"{mode}: no-change refresh")
    unchanged = refresh(run, landing, data, api_url, lake)
    return {
        "full": full,
        "cumulative_nightly": nightly,
        "no_change": unchanged,
        "analyst_during_nightly": _latency(answers),
    }


def _stages(refresh: dict[str, object]) -> str:
    return ", ".join(
        f"{stage} {seconds:.1f}" for stage, seconds in refresh["stage_seconds"].items()
    )


def _row(name: str, file: dict[str, object], lake: dict[str, object]) -> str:
    f, k = file["wall_seconds"], lake["wall_seconds"]
    return f"| {name} | {f:.1f} | {k:.1f} | {k / f:.2f} | {_stages(file)} | {_stages(lake)} |"


def report(results: dict[str, object]) -> str:
    file, lake = results["file"], results["lake"]
    lines = [
        f"## DuckLake beside the file, {results['surveys']:,} submissions (`bench/lake.py`)",
        "",
        f"{results.get('date', '?')} UTC, {results.get('machine', '?')}. The same landing zone "
        "refreshed in each mode (the lake: a DuckLake catalog in a local Postgres, data files in "
        "a local folder), every refresh in its own process against one Prefect server: a full "
        "refresh, a cumulative nightly (the latest export again plus 1% new submissions), a "
        "refresh with nothing new. During the nightly an analyst in another process runs one "
        "query on a new connection after another, as `fmw query` does.",
        "",
        "| refresh | file s | lake s | lake / file | file stages (s) | lake stages (s) |",
        "|---|---|---|---|---|---|",
        _row("full", file["full"], lake["full"]),
        _row("cumulative nightly", file["cumulative_nightly"], lake["cumulative_nightly"]),
        _row("no change", file["no_change"], lake["no_change"]),
        "",
        "| analyst during the nightly | queries | errors | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
    ]
    for mode in ("file", "lake"):
        a = results[mode]["analyst_during_nightly"]
        lines.append(
            f"| {mode} | {a['queries']} | {a['errors']} | {a['p50_ms']:.0f} | {a['p95_ms']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surveys", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/fmw-bench-lake"))
    parser.add_argument("--out", type=Path, help="results JSON (default: WORK/results.json)")
    parser.add_argument("--lake", help="an existing lake's catalog (default: a throwaway one)")
    parser.add_argument("--lake-data", help="its data path (with --lake)")
    parser.add_argument(
        "--modes",
        default="file,lake",
        help="which to run (file,lake); the others are read back from --out when it has them",
    )
    parser.add_argument(
        "--results-md",
        type=Path,
        default=ROOT / "bench" / "results.md",
        help="the results file whose bench/lake.py section is replaced (bench/run.py keeps it)",
    )
    parser.add_argument("--reader", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        published, lake, lake_data, out, stop = args.reader
        reader(published, lake or None, lake_data or None, out, stop)
        return 0
    run = _run_py()
    args.work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if args.lake:
            lake = (args.lake, args.lake_data or str(args.work / "lake-data"))
        else:
            from tests.helpers.postgres import new_lake, postgres_server

            server = stack.enter_context(postgres_server())
            throwaway = new_lake(server, args.work / "lake-data")
            lake = (throwaway.url, str(throwaway.data))
        api_url = stack.enter_context(run.prefect_server(args.work))
        source = args.work / "landing"
        shutil.rmtree(source, ignore_errors=True)
        _log(f"generating {args.surveys:,} submissions")
        manifest = generate_landing_zone(source, surveys=args.surveys, seed=SEED, csv_only=True)
        out = args.out or args.work / "results.json"
        results: dict[str, object] = {"surveys": args.surveys, **_machine()}
        if out.is_file() and json.loads(out.read_text()).get("surveys") == args.surveys:
            results = json.loads(out.read_text())
        for mode, backend in (("file", None), ("lake", lake)):
            if mode not in args.modes.split(","):
                continue
            results[mode] = bench_mode(
                run, mode, source, manifest, args.work, args.surveys, api_url, backend
            )
            out.write_text(json.dumps(results, indent=2, default=str))
    if "file" in results and "lake" in results:
        print(report(results))
        run._sibling("results_file").write_section(
            args.results_md, "bench/lake.py", report(results)
        )
        print(f"\nwrote its section of {args.results_md}")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
