"""End-to-end benchmark: full, incremental and no-change refreshes against a DuckDB floor.

    .venv/bin/python bench/run.py                      # 100 k and 1 M submissions
    .venv/bin/python bench/run.py --with-5m            # and 5 M
    .venv/bin/python bench/run.py --sizes 100000 --out /tmp/bench-smoke   # CI smoke
    .venv/bin/python bench/run.py --landing-cache ~/fmw-landing   # generate each size once

For each size: generate a CSV-only landing zone with `fmw sample`, run a full refresh,
then two incremental refreshes, each after 1% new submissions arrive: first in a
cumulative export (the latest export's rows and the new ones, as Kobo exports), then in an
export of the new submissions only; then a refresh with nothing new. In the same run, a
DuckDB-only floor reads the same FMS files with `read_csv` and computes
`marts.fms_corridor_monthly`'s counts directly, and the all-columns floor of issue 24
reads every column, unions, keeps the latest version of each `_uuid` in a database file,
resolves edits and counts the same cells (no validation: it counts the few planted bad
rows the warehouse quarantines); then the raw FMS quality suite is timed
against the same checks in plain SQL, and the disclosure control (protection pass and
audit, bench/disclosure.py) of the full refresh. Each refresh runs in its own process; its peak
memory is that process's peak plus its quality worker's (an upper bound of what the two
held at once). Stage times come from the flow's outcome. A refresh that failed a file (the
generator's planted bad story files excepted) or loaded fewer rows than the new valid ones
stops the benchmark: it would time less work than it reports. The refreshes talk to a Prefect
server the benchmark starts once, as the nightly schedule does (README); what `fmw
refresh` without a server adds (Prefect's ephemeral API) is measured separately, or use
--ephemeral to run every refresh that way. Writes results.md and results.json into
--out (default: bench/).
"""

from __future__ import annotations

import argparse
import csv
import functools
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.config import DEFAULT_SUPPRESSION_K, TELEMETRY_SWITCHES  # noqa: E402
from flows.sample.generator import generate_landing_zone  # noqa: E402

# The process's own peak resident set. Not ru_maxrss: on Linux it carries the parent's
# peak across fork and exec, so every child would report the benchmark's own size.
PEAK_RSS = """
def status_mib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith(field)) / 1024
    except (OSError, StopIteration):
        return None
def peak_rss_mib():
    peak = status_mib("self", "VmHWM:")
    if peak is None:
        raise RuntimeError("no VmHWM in /proc/self/status")
    return peak
"""

REFRESH_CHILD = (
    PEAK_RSS
    + """
import json, os, sys, threading, time
from dataclasses import asdict
started = time.perf_counter()

# The quality worker's peak, sampled: ru_maxrss cannot tell it (see PEAK_RSS), and its own
# VmHWM is gone once it exits. Memory it gains in its last 0.2 s may be missed.
import flows.quality.worker_parent
worker_pids, worker_peaks = [], {}
start_worker = flows.quality.worker_parent.QualityWorker.__init__
def recording_start(self, *args, **kwargs):
    start_worker(self, *args, **kwargs)
    worker_pids.append(self.pid)
flows.quality.worker_parent.QualityWorker.__init__ = recording_start
# What the refresh and its worker hold at the same moment, sampled: the sum of their two
# peaks (VmHWM) is an upper bound that adds peaks reached at different times.
together = {"peak": 0.0}
def sample_worker_peaks():
    while True:
        held = status_mib("self", "VmRSS:") or 0.0
        for pid in worker_pids:
            hwm, rss = status_mib(pid, "VmHWM:"), status_mib(pid, "VmRSS:")
            if hwm is not None:
                worker_peaks[pid] = max(worker_peaks.get(pid, 0.0), hwm)
            held += rss or 0.0
        together["peak"] = max(together["peak"], held)
        time.sleep(0.2)
threading.Thread(target=sample_worker_peaks, daemon=True).start()

from flows.nightly import nightly_refresh
outcome = nightly_refresh(landing_dir=sys.argv[1], data_dir=sys.argv[2])
wall = time.perf_counter() - started
refresh_peak = peak_rss_mib()
worker_peak = max(worker_peaks.values(), default=0.0)
print(json.dumps({"wall_seconds": wall, "peak_rss_mib": refresh_peak + worker_peak,
                  "refresh_peak_rss_mib": refresh_peak, "worker_peak_rss_mib": worker_peak,
                  "together_peak_rss_mib": together["peak"],
                  "stage_seconds": outcome.stage_seconds, "status": outcome.status,
                  "rows_loaded": sum(f["counts"]["rows_loaded"] for f in outcome.files),
                  "files_failed": {f"{f['source']}/{f['file_name']}": f["reason"]
                                   for f in outcome.files
                                   if f["status"] == "failed"}}))
"""
)


# The raw FMS suite as the refresh runs it: Great Expectations inside DuckDB.
SUITE_CHILD = (
    PEAK_RSS
    + """
import json, sys, time
from datetime import date, timedelta
from pathlib import Path
from flows.config import EXPECTATIONS_DIR
from flows.quality.suite_generation import MAX_DATE_PARAMETER
from flows.quality.gx_duckdb import validate_suite
from flows.quality.gates import fact_counts
db = Path(sys.argv[1])
parameters = {"k": 5, MAX_DATE_PARAMETER: date.today() + timedelta(days=1), **fact_counts(db)}
started = time.perf_counter()
validation = validate_suite(db, "raw_fms_submissions", EXPECTATIONS_DIR, parameters,
                            values_in_observed=False)
wall = time.perf_counter() - started
print(json.dumps({"wall_seconds": wall, "checks": len(validation.checks),
                  "not_passed": sum(1 for c in validation.checks if c.success is not True),
                  "peak_rss_mib": peak_rss_mib()}))
"""
)

# The same checks as plain SQL: one count of unexpected rows per expectation.
PLAIN_SQL_CHILD = (
    PEAK_RSS
    + """
import json, sys, time
from datetime import date, timedelta
import duckdb
sys.path.insert(0, "bench")
from run import plain_sql_checks
started = time.perf_counter()
with duckdb.connect(sys.argv[1], read_only=True) as connection:
    connection.execute("SET VARIABLE max_interview_date = $1",
                       [date.today() + timedelta(days=1)])
    unexpected = [connection.execute(sql).fetchone()[0] for sql in plain_sql_checks()]
wall = time.perf_counter() - started
print(json.dumps({"wall_seconds": wall, "checks": len(unexpected),
                  "not_passed": sum(1 for n in unexpected if n),
                  "peak_rss_mib": peak_rss_mib()}))
"""
)

RAW_FMS = "raw.fms_submissions"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _values(values: list[object]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _plain_sql(expectation: dict[str, object]) -> str:
    kwargs = expectation["kwargs"]
    kind = expectation["type"]
    if kind == "unexpected_rows_expectation":
        query = kwargs["unexpected_rows_query"].replace("{batch}", RAW_FMS)
        return f"SELECT count(*) FROM ({query})"
    if kind == "expect_column_values_to_be_unique":
        column = _quote(kwargs["column"])
        return (
            f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {RAW_FMS} "
            f"WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) > 1)"
        )
    if kind == "expect_column_pair_values_to_be_in_set":
        a, b = _quote(kwargs["column_A"]), _quote(kwargs["column_B"])
        pairs = ", ".join(f"({_values(list(pair))})" for pair in kwargs["value_pairs_set"])
        return (
            f"SELECT count(*) FROM {RAW_FMS} WHERE {a} IS NOT NULL AND {b} IS NOT NULL "
            f"AND ({a}, {b}) NOT IN (VALUES {pairs})"
        )
    column = _quote(kwargs["column"])
    if kind == "expect_column_values_to_not_be_null":
        unexpected = f"{column} IS NULL"
    elif kind == "expect_column_values_to_be_in_set":
        unexpected = f"{column} NOT IN ({_values(kwargs['value_set'])})"
    elif kind == "expect_column_values_to_match_regex":
        unexpected = f"NOT regexp_matches({column}, {_values([kwargs['regex']])})"
    else:
        raise ValueError(f"no plain SQL for {kind}")
    return f"SELECT count(*) FROM {RAW_FMS} WHERE {unexpected}{_row_condition(kwargs)}"


def _row_condition(kwargs: dict[str, object]) -> str:
    condition = kwargs.get("row_condition")
    if not condition:
        return ""
    if condition.get("type") != "comparison" or condition.get("operator") != "==":
        raise ValueError(f"no plain SQL for row_condition {condition}")
    column = _quote(condition["column"]["name"])
    return f" AND {column} = {_values([condition['parameter']])}"


def plain_sql_checks() -> list[str]:
    """One SQL count per expectation of the raw FMS suite, as a hand-written check would be."""
    suite = json.loads((ROOT / "expectations" / "raw_fms_submissions.json").read_text())
    return [_plain_sql(e) for e in suite["expectations"]]


def _run_child(program: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", program, *args], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"child failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def quality_suite_vs_sql(internal_db: Path) -> dict[str, object]:
    """The raw FMS suite through GX against the same checks in plain SQL, each in its own
    process (so the peak memory is the suite's own), on the refreshed internal database."""
    return {
        "suite": _run_child(SUITE_CHILD, str(internal_db)),
        "plain_sql": _run_child(PLAIN_SQL_CHILD, str(internal_db)),
    }


@functools.cache
def _sibling(name: str) -> ModuleType:
    """bench/NAME.py (disclosure.py also runs alone on any refreshed data directory), loaded
    once, whether this file runs as a script or is loaded by the tests."""
    path = Path(__file__).resolve().with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _prefect_env(prefect_home: Path, api_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    for name, value in TELEMETRY_SWITCHES.items():
        env.setdefault(name, value)
    env["PREFECT_HOME"] = str(prefect_home)
    prefect_home.mkdir(parents=True, exist_ok=True)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    else:
        env.pop("PREFECT_API_URL", None)
        env["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "true"
        env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    return env


def run_refresh(landing: Path, data: Path, api_url: str | None) -> dict[str, object]:
    env = _prefect_env(data / "internal" / "prefect", api_url)
    result = subprocess.run(
        [sys.executable, "-c", REFRESH_CHILD, str(landing), str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"refresh failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    _check_no_file_failed_unplanted(measured, landing)
    stages = measured["stage_seconds"]
    measured["stage_seconds"]["orchestration"] = measured["wall_seconds"] - sum(stages.values())
    return measured


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A Prefect server kept up across refreshes, as the README runs the nightly schedule."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _prefect_env(home, None)
    env.pop("PREFECT_SERVER_EPHEMERAL_ENABLED")
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_until_healthy(api_url, server)
        yield api_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def _wait_until_healthy(api_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the Prefect server exited; see server.log")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the Prefect server did not become healthy in 180 s")


TRIVIAL_FLOW_CHILD = """
import json, time
started = time.perf_counter()
from prefect import flow
@flow
def nothing() -> int:
    return 1
nothing()
print(json.dumps({"wall_seconds": time.perf_counter() - started}))
"""


def ephemeral_api_seconds(work: Path, api_url: str) -> dict[str, float]:
    """What `fmw refresh` without a server pays on top: a trivial flow run against the
    ephemeral API (its second start, as a refresh's home is warm) and against a server."""
    home = work / "ephemeral_probe"
    shutil.rmtree(home, ignore_errors=True)
    timings = {}
    for label, url in (("cold", None), ("ephemeral", None), ("server", api_url)):
        result = subprocess.run(
            [sys.executable, "-c", TRIVIAL_FLOW_CHILD],
            cwd=ROOT, env=_prefect_env(home, url), capture_output=True, text=True, check=True,
        )  # fmt: skip
        timings[label] = json.loads(result.stdout.strip().splitlines()[-1])["wall_seconds"]
    return {"ephemeral": timings["ephemeral"], "server": timings["server"]}


def _csv_delimiter(path: Path) -> str:
    with path.open(encoding="utf-8-sig") as handle:
        header = handle.readline()
    return ";" if header.count(";") > header.count(",") else ","


def _fms_exports_in_arrival_order(fms_dir: Path) -> list[Path]:
    return sorted(fms_dir.glob("*.csv"), key=lambda p: (p.stat().st_mtime_ns, p.name))


def floor_seconds(fms_dir: Path) -> tuple[float, int]:
    """DuckDB alone: read every FMS export, dedupe, resolve edits, count corridor cells."""
    files = _fms_exports_in_arrival_order(fms_dir)
    wanted = (
        '"_uuid", "meta/deprecatedID" AS deprecated_id, "_validation_status" AS status, '
        '"intro/consent" AS consent, "today", "intro/direction" AS direction, '
        '"origin/origin_adm1" AS origin_adm1, "journey/dest_country" AS dest_country, '
        '"profile/sex" AS sex'
    )
    reads = " UNION ALL ".join(
        f"SELECT {rank} AS arrival, {wanted} FROM read_csv('{path}', "
        f"delim='{_csv_delimiter(path)}', header=true, all_varchar=true)"
        for rank, path in enumerate(files)
    )
    sql = f"""
        WITH delivered AS ({reads}),
        latest AS (
            SELECT * FROM delivered WHERE _uuid IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY _uuid ORDER BY arrival DESC) = 1
        ),
        final AS (
            SELECT * FROM latest
            WHERE 'uuid:' || _uuid NOT IN (
                SELECT deprecated_id FROM latest WHERE deprecated_id IS NOT NULL
            )
        )
        SELECT date_trunc('month', CAST(today AS DATE)) AS month, direction, origin_adm1,
               dest_country, count(*) AS respondents,
               count(*) FILTER (WHERE sex = 'female') AS female_respondents
        FROM final
        WHERE consent = 'yes' AND coalesce(status, '') <> 'validation_status_not_approved'
        GROUP BY ALL
    """
    started = time.perf_counter()
    with duckdb.connect() as connection:
        cells = len(connection.execute(sql).fetchall())
    return time.perf_counter() - started, cells


# The warehouse's edit resolution (int_fms_submission_versions), on the versions held: a
# version named by another's deprecatedID is superseded; chains are walked from their first
# present version, and a chain with two tips keeps the latest submitted (then _id, uuid).
_FLOOR_RESOLVE_EDITS = """
    CREATE OR REPLACE TEMP TABLE not_final AS
    WITH RECURSIVE
    versions AS (
        SELECT _uuid, nullif(regexp_replace("meta/deprecatedID", '^uuid:', ''), '')
                   AS replaces_uuid,
               "_submission_time" AS submitted_at, TRY_CAST("_id" AS BIGINT) AS kobo_id
        FROM latest
    ),
    replaced AS (SELECT DISTINCT replaces_uuid AS _uuid FROM versions
                 WHERE replaces_uuid IS NOT NULL),
    involved AS (
        SELECT v.*, r._uuid IS NOT NULL AS is_superseded
        FROM versions AS v LEFT JOIN replaced AS r USING (_uuid)
        WHERE v.replaces_uuid IS NOT NULL OR r._uuid IS NOT NULL
    ),
    flagged AS (
        SELECT i.*, p._uuid IS NOT NULL AS replaces_present
        FROM involved AS i LEFT JOIN involved AS p ON i.replaces_uuid = p._uuid
    ),
    chains AS (
        SELECT _uuid, coalesce(replaces_uuid, _uuid) AS root FROM flagged
        WHERE NOT replaces_present
        UNION ALL
        SELECT f._uuid, chains.root FROM chains
        JOIN flagged AS f ON f.replaces_present AND f.replaces_uuid = chains._uuid
    ),
    tips AS (
        SELECT chains._uuid FROM chains JOIN flagged USING (_uuid)
        WHERE NOT flagged.is_superseded
        QUALIFY row_number() OVER (PARTITION BY chains.root
            ORDER BY flagged.submitted_at DESC, flagged.kobo_id DESC, chains._uuid) = 1
    )
    SELECT _uuid FROM involved ANTI JOIN tips USING (_uuid)
"""

_FLOOR_CORRIDOR = """
    SELECT date_trunc('month', TRY_CAST("today" AS DATE)) AS month, "intro/direction",
           "origin/origin_adm1", "journey/dest_country", count(*) AS respondents,
           count(*) FILTER (WHERE "profile/sex" = 'female') AS female_respondents
    FROM latest ANTI JOIN not_final USING (_uuid)
    WHERE "intro/consent" = 'yes'
      AND coalesce("_validation_status", '') <> 'validation_status_not_approved'
    GROUP BY ALL
"""


def floor_all_columns(fms_dir: Path, scratch: Path) -> tuple[float, list[tuple[object, ...]]]:
    """The floor issue 24 names: DuckDB alone reads every column of every FMS export
    (all_varchar), unions them, keeps the latest delivered version of each `_uuid` in a
    database file (a later file's version replaces an earlier one, as ingest does; repeats
    within one file are identical or quarantined, so which is kept does not matter),
    resolves edits as the warehouse does and counts the corridor cells, returned with the
    seconds (month, direction, origin, destination, respondents, female respondents; no
    validation, so the few planted bad rows the warehouse quarantines count). DuckDB's own
    settings: under the refresh's memory limit its window over every column runs out
    of memory at 1 M submissions."""
    files = _fms_exports_in_arrival_order(fms_dir)
    reads = " UNION ALL BY NAME ".join(
        f"SELECT {rank} AS arrival, * FROM read_csv('{path}', "
        f"delim='{_csv_delimiter(path)}', header=true, all_varchar=true) AS file_{rank}"
        for rank, path in enumerate(files)
    )
    database = scratch / "floor_all_columns.duckdb"
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            f"""
            CREATE TABLE latest AS SELECT * EXCLUDE (arrival) FROM ({reads})
            WHERE _uuid IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY _uuid ORDER BY arrival DESC) = 1
            """
        )
        connection.execute(_FLOOR_RESOLVE_EDITS)
        cells = connection.execute(_FLOOR_CORRIDOR).fetchall()
    seconds = time.perf_counter() - started
    database.unlink(missing_ok=True)
    return seconds, cells


def read_csv_seconds(fms_dir: Path) -> float:
    """DuckDB's own read_csv materialising every column of every FMS export."""
    started = time.perf_counter()
    with duckdb.connect() as connection:
        for path in sorted(fms_dir.glob("*.csv")):
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE t AS SELECT * FROM read_csv('{path}', "
                f"delim='{_csv_delimiter(path)}', header=true, all_varchar=true)"
            )
    return time.perf_counter() - started


def _largest_fms_export(manifest: dict[str, object]) -> dict[str, object]:
    """The manifest's entry for the latest cumulative export: the FMS file with most rows."""
    files = [f for f in manifest["files"] if f["source"] == "fms"]
    return max(files, key=lambda f: f["rows"])


@dataclass(frozen=True)
class NewSubmissions:
    export: Path  # holds only them
    submissions: int
    valid_rows: int  # rows the warehouse must load: the sample plants a few bad ones


def _new_submissions(work: Path, surveys: int, seed: int) -> NewSubmissions:
    """An export of 1% as many submissions as the landing zone, all new (another seed)."""
    new = max(50, surveys // 100)
    extra = work / f"one_percent_{seed}"
    shutil.rmtree(extra, ignore_errors=True)
    manifest = generate_landing_zone(extra, surveys=new, seed=seed, csv_only=True)
    largest = _largest_fms_export(manifest)
    valid_rows = largest["rows"] - len(largest["bad_rows"])
    return NewSubmissions(extra / "fms" / largest["name"], new, valid_rows)


def _arrives_now(path: Path) -> None:
    later = time.time()
    os.utime(path, (later, later))


def add_new_only_export(landing: Path, work: Path, surveys: int, seed: int) -> NewSubmissions:
    """Deliver an export that holds only the 1% new submissions."""
    new = _new_submissions(work, surveys, seed)
    target = landing / "fms" / f"new_submissions_{new.submissions}.csv"
    shutil.copyfile(new.export, target)
    _arrives_now(target)
    return new


def add_cumulative_export(
    landing: Path, manifest: dict[str, object], work: Path, surveys: int, seed: int
) -> tuple[NewSubmissions, int]:
    """Deliver what Kobo's next export would be (the contract: exports are cumulative):
    the latest export's rows as they were, then 1% new submissions in the same layout.
    Returns the new submissions and how many rows the export holds."""
    largest = _largest_fms_export(manifest)
    latest, rows = landing / "fms" / largest["name"], largest["rows"]
    new = _new_submissions(work, surveys, seed)
    target = landing / "fms" / f"cumulative_export_plus_{new.submissions}.csv"
    shutil.copyfile(latest, target)
    delimiter = _csv_delimiter(latest)
    with latest.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle, delimiter=delimiter))
    with new.export.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        if next(reader) != header:
            raise RuntimeError(f"{new.export} is not in the layout of {latest}")
        index = header.index("_index")
        with target.open("a", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL)
            for row in reader:
                rows += 1
                row[index] = str(rows)  # Kobo numbers an export's rows from its first
                writer.writerow(row)
    _arrives_now(target)
    return new, rows


def _check_no_file_failed_unplanted(run: dict[str, object], landing: Path) -> None:
    """A refresh publishes without a file that failed to load, as designed; a bench that
    timed it would time less work than it says (a lower memory cap once did exactly that).
    Only the bad story files the generator plants, listed in its manifest, may fail."""
    manifest = json.loads((landing / "sample_manifest.json").read_text())
    planted = {f"stories/{bad['file']}" for bad in manifest["bad_story_files"]}
    failed = {name: reason for name, reason in run["files_failed"].items() if name not in planted}
    if failed:
        listed = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
        raise RuntimeError(
            f"the refresh failed {len(failed)} file(s), so it is no measure: {listed}"
        )


def _check_loaded(run: dict[str, object], new: NewSubmissions, scenario: str) -> None:
    """A bench that measured less new data than it says would be worse than none."""
    if run["rows_loaded"] < new.valid_rows:
        raise RuntimeError(
            f"{scenario}: the refresh loaded {run['rows_loaded']:,} rows, expected at least "
            f"the {new.valid_rows:,} valid rows of {new.submissions:,} new submissions"
        )


def _hard_link_copy(source: Path, target: Path) -> None:
    shutil.copytree(source, target, copy_function=os.link)


def landing_zone(
    landing: Path, surveys: int, seed: int, cache: Path | None
) -> tuple[dict[str, object], float | None]:
    """Generate the landing zone, or hard-link it from `cache` where an earlier run left the
    same size and seed (the generator is deterministic; 5 M submissions take minutes to
    generate). Returns the manifest and the seconds generating took (None: from the cache).
    The bench only ever adds files to a landing zone, so linking the cached ones is safe."""
    cached = cache / f"n{surveys}-seed{seed}" if cache else None
    if cached is not None and (cached / "sample_manifest.json").is_file():
        _log(f"{surveys:,}: landing zone from the cache {cached}")
        _hard_link_copy(cached, landing)
        return json.loads((landing / "sample_manifest.json").read_text()), None
    _log(f"{surveys:,}: generating the landing zone")
    started = time.perf_counter()
    manifest = generate_landing_zone(landing, surveys=surveys, seed=seed, csv_only=True)
    generated = time.perf_counter() - started
    if cached is not None:
        partial = cached.with_name(cached.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        _hard_link_copy(landing, partial)
        partial.rename(cached)
    return manifest, generated


def bench_size(
    surveys: int, work: Path, seed: int, api_url: str | None, cache: Path | None = None
) -> dict[str, object]:
    root = work / f"n{surveys}"
    shutil.rmtree(root, ignore_errors=True)
    landing, data = root / "landing", root / "data"
    manifest, generated = landing_zone(landing, surveys, seed, cache)
    fms_rows = sum(f["rows"] for f in manifest["files"] if f["source"] == "fms")
    fms_bytes = sum(p.stat().st_size for p in (landing / "fms").iterdir())

    _log(f"{surveys:,}: DuckDB floor")
    floor, cells = floor_seconds(landing / "fms")
    _log(f"{surveys:,}: DuckDB floor, every column")
    all_columns_floor, all_columns_cells = floor_all_columns(landing / "fms", root)
    read_csv = read_csv_seconds(landing / "fms")
    _log(f"{surveys:,}: full refresh")
    full = run_refresh(landing, data, api_url)
    _log(f"{surveys:,}: disclosure control (protection pass and audit) on the full refresh")
    disclosure = _sibling("disclosure").measure(data, DEFAULT_SUPPRESSION_K)
    new, cumulative_rows = add_cumulative_export(landing, manifest, root, surveys, seed + 1)
    _log(f"{surveys:,}: incremental refresh, cumulative export (+{new.submissions:,})")
    incremental = run_refresh(landing, data, api_url)
    _check_loaded(incremental, new, "cumulative export")
    new_only = add_new_only_export(landing, root, surveys, seed + 2)
    _log(
        f"{surveys:,}: incremental refresh, export of new submissions only "
        f"(+{new_only.submissions:,})"
    )
    incremental_new_only = run_refresh(landing, data, api_url)
    _check_loaded(incremental_new_only, new_only, "export of new submissions only")
    _log(f"{surveys:,}: no-change refresh")
    unchanged = run_refresh(landing, data, api_url)
    _log(f"{surveys:,}: raw FMS quality suite against plain SQL")
    quality = quality_suite_vs_sql(data / "internal" / "warehouse.duckdb")
    result = {
        "surveys": surveys,
        "fms_rows": fms_rows,
        "fms_mib": fms_bytes / 2**20,
        "generate_seconds": generated,
        "floor_seconds": floor,
        "floor_cells": cells,
        "all_columns_floor_seconds": all_columns_floor,
        "all_columns_floor_cells": len(all_columns_cells),
        "read_csv_seconds": read_csv,
        "full": full,
        "incremental": incremental,
        "incremental_new_submissions": new.submissions,
        "incremental_export_rows": cumulative_rows,
        "incremental_new_only": incremental_new_only,
        "incremental_new_only_submissions": new_only.submissions,
        "no_change": unchanged,
        "refresh_over_floor": full["wall_seconds"] / floor,
        "refresh_over_all_columns_floor": full["wall_seconds"] / all_columns_floor,
        "incremental_over_all_columns_floor": incremental["wall_seconds"] / all_columns_floor,
        "incremental_over_full": incremental["wall_seconds"] / full["wall_seconds"],
        "incremental_new_only_over_full": incremental_new_only["wall_seconds"]
        / full["wall_seconds"],
        "ingest_over_read_csv": full["stage_seconds"]["ingest"] / read_csv,
        "quality_suite": quality,
        "disclosure": disclosure,
        "suite_over_plain_sql": quality["suite"]["wall_seconds"]
        / quality["plain_sql"]["wall_seconds"],
    }
    shutil.rmtree(root, ignore_errors=True)
    return result


def _row(name: str, run: dict[str, object]) -> str:
    stages = run["stage_seconds"]
    cells = [
        f"{run['wall_seconds']:.1f}",
        *(f"{stages.get(s, 0.0):.1f}" for s in ("ingest", "dbt", "quality", "publish")),
        f"{stages['orchestration']:.1f}",
        f"{run['together_peak_rss_mib']:.0f}",
        f"{run['peak_rss_mib']:.0f}",
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


def _quality_line(r: dict[str, object]) -> str:
    suite, sql = r["quality_suite"]["suite"], r["quality_suite"]["plain_sql"]
    return (
        f"- raw FMS quality suite ({suite['checks']} checks, {suite['not_passed']} not passed): "
        f"{suite['wall_seconds']:.1f} s, peak {suite['peak_rss_mib']:.0f} MiB; the same checks "
        f"in plain SQL: {sql['wall_seconds']:.1f} s, peak {sql['peak_rss_mib']:.0f} MiB; "
        f"suite / plain SQL: **{r['suite_over_plain_sql']:.2f}×** (target ≤ 3×, < 1.5 GB)"
    )


def _prefect_line(results: list[dict[str, object]]) -> str:
    prefect = results[0].get("prefect") if results else None
    if not prefect:
        return (
            "Each refresh started Prefect's ephemeral API, as `fmw refresh` does without a server."
        )
    extra = prefect["ephemeral"] - prefect["server"]
    return (
        "Each refresh ran against a Prefect server kept up across runs, as the nightly schedule "
        "runs (README). Without a server, `fmw refresh` starts Prefect's ephemeral API: a "
        f"trivial flow took {prefect['ephemeral']:.1f} s that way against "
        f"{prefect['server']:.1f} s with the server, so add about {extra:.0f} s to every "
        "refresh's orchestration."
    )


def write_results(results: list[dict[str, object]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine,
        "duckdb": duckdb.__version__,
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "sizes": results}, indent=2))
    lines = [
        "# Benchmark results",
        "",
        f"{meta['date']} UTC, {machine}, DuckDB {meta['duckdb']}. "
        "Produced by `bench/run.py`; times in seconds, memory in MiB (peak RSS together: "
        "the most the refresh process and its quality worker held at the same moment, "
        "sampled every 0.2 s; sum of peaks: the refresh's peak plus the worker's, an upper "
        "bound).",
        "",
        _prefect_line(results),
        "",
    ]
    for r in results:
        lines += [
            f"## {r['surveys']:,} submissions ({r['fms_rows']:,} FMS rows, "
            f"{r['fms_mib']:.0f} MiB of CSV exports)",
            "",
            "| refresh | wall | ingest | dbt | quality | publish | orchestration "
            "| peak RSS together | sum of peaks |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            _row("full", r["full"]),
            _row(
                f"incremental, cumulative export (+{r['incremental_new_submissions']:,} "
                f"submissions in {r['incremental_export_rows']:,} rows; "
                f"{r['incremental']['rows_loaded']:,} rows loaded)",
                r["incremental"],
            ),
            _row(
                f"incremental, export of new submissions only "
                f"(+{r['incremental_new_only_submissions']:,}; "
                f"{r['incremental_new_only']['rows_loaded']:,} rows loaded)",
                r["incremental_new_only"],
            ),
            _row("no change", r["no_change"]),
            "",
            f"- DuckDB floor (read_csv of the same files, corridor counts): "
            f"{r['floor_seconds']:.1f} s",
            f"- DuckDB read_csv of every column of the same files: {r['read_csv_seconds']:.1f} s; "
            f"ingest / read_csv: **{r['ingest_over_read_csv']:.2f}×** (target ≤ 2.5×)",
            f"- DuckDB floor, every column (read_csv all_varchar of the same files, union, "
            f"latest version of each _uuid written to a database file, edits resolved, "
            f"corridor counts): {r['all_columns_floor_seconds']:.1f} s; full refresh / "
            f"all-columns floor: **{r['refresh_over_all_columns_floor']:.2f}×** "
            "(target ≤ 2.5×); incremental with the cumulative export / all-columns floor: "
            f"{r['incremental_over_all_columns_floor']:.2f}×",
            f"- full refresh / floor: **{r['refresh_over_floor']:.2f}×**",
            f"- incremental / full: **{r['incremental_over_full']:.2f}** with the cumulative "
            f"export, **{r['incremental_new_only_over_full']:.2f}** with the export of new "
            "submissions only (target ≤ 0.20)",
            f"- peak RSS of the full refresh: {r['full']['together_peak_rss_mib']:,.0f} MiB "
            "held at once by the refresh and its quality worker (sampled every 0.2 s); the "
            f"sum of their two peaks, reached at different times: "
            f"{r['full']['peak_rss_mib']:,.0f} MiB (target ≤ 3 GB at 5 M submissions)",
            _quality_line(r),
            _sibling("disclosure").markdown_line(r["disclosure"], r["full"]["wall_seconds"]),
            "",
        ]
    _sibling("results_file").write_body(out / "results.md", "\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--with-5m", action="store_true", help="also run 5,000,000")
    parser.add_argument("--out", default=str(ROOT / "bench"), help="where results go")
    parser.add_argument("--work", default=str(ROOT / "bench" / "work"), help="scratch folder")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument(
        "--landing-cache",
        type=Path,
        help="keep each generated landing zone here (hard links) and reuse it in later runs",
    )
    parser.add_argument(
        "--ephemeral",
        action="store_true",
        help="run each refresh as `fmw refresh` does without a server: Prefect's ephemeral API",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.with_5m:
        sizes.append(5_000_000)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, object]] = []
    with ExitStack() as stack:
        api_url = None
        if not args.ephemeral:
            api_url = stack.enter_context(prefect_server(work / "prefect_server"))
            prefect_costs = ephemeral_api_seconds(work, api_url)
        for surveys in sizes:
            results.append(bench_size(surveys, work, args.seed, api_url, args.landing_cache))
            if api_url:
                results[-1]["prefect"] = {"mode": "server", **prefect_costs}
            write_results(results, Path(args.out))
    print((Path(args.out) / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
