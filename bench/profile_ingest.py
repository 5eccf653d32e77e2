"""Where the ingest's seconds go: every SQL statement it runs, timed and named by its caller.

    .venv/bin/python bench/profile_ingest.py LANDING_DIR DATA_DIR [--full-refresh]

Runs the ingest stage alone (no Prefect, no dbt) on LANDING_DIR into DATA_DIR's internal
database, as the refresh's ingest stage does, and prints the seconds spent per caller (the
function of flows/ that ran the statement) and per landing file, then the Python time
outside DuckDB. Run it twice on the same data directory to profile a nightly refresh: the
second run sees only the files that arrived since.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT  # noqa: E402
from flows.form.xlsform import default_form  # noqa: E402
from flows.ingest.fms.repeats import ExportMemory  # noqa: E402
from flows.ingest.landing_zone import ingest_landing_zone  # noqa: E402
from flows.warehouse.connection import connect  # noqa: E402


class TimedConnection:
    """A DuckDB connection whose statements are timed, each under the function that ran it."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def _caller(self, sql: object = None) -> str:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.endswith("connection.py"):
            frame = frame.f_back
        if frame is None:
            return "?"
        module = Path(frame.f_code.co_filename).stem
        words = " ".join(str(sql).split()[:6])[:60] if isinstance(sql, str) else ""
        return f"{module}.{frame.f_code.co_name}: {words}"

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = self._connection.execute(*args, **kwargs)
        if result is not None and hasattr(result, "fetchall"):
            return _Fetched(result, self, self._caller(args[0] if args else None), started)
        caller = self._caller(args[0] if args else None)
        self.seconds[caller] += time.perf_counter() - started
        self.calls[caller] += 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class _Fetched:
    """The statement's result; fetching it counts toward the statement's time."""

    def __init__(self, result: Any, owner: TimedConnection, caller: str, started: float) -> None:
        self._result, self._owner, self._caller = result, owner, caller
        owner.seconds[caller] += time.perf_counter() - started
        owner.calls[caller] += 1

    def _timed(self, name: str) -> Any:
        method = getattr(self._result, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            value = method(*args, **kwargs)
            self._owner.seconds[self._caller] += time.perf_counter() - started
            return value

        return timed

    def __getattr__(self, name: str) -> Any:
        if name.startswith("fetch"):
            return self._timed(name)
        return getattr(self._result, name)


def _next_checkpoint_seconds(database: Path) -> float:
    """What the next write after ingest pays when its connection closes (in a refresh:
    recording the run's counts). DuckDB used to merge the row groups the ingest appended at
    that checkpoint; the warehouse now compacts only when a table needs it
    (flows.warehouse.compaction)."""
    with connect(database) as connection:
        connection.execute("CREATE TABLE profile_probe AS SELECT 1 AS written")
        connection.execute("DROP TABLE profile_probe")
        closing = time.perf_counter()
    return time.perf_counter() - closing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--full-refresh", action="store_true")
    args = parser.parse_args()
    database = args.data / "internal" / "warehouse.duckdb"
    file_seconds: list[tuple[str, str, float]] = []
    last = [time.perf_counter()]

    def progress(step: Any) -> None:
        now = time.perf_counter()
        file_seconds.append((step.item, step.outcome, now - last[0]))
        last[0] = now

    started = time.perf_counter()
    with connect(database, memory_limit=DEFAULT_DUCKDB_MEMORY_LIMIT) as raw:
        timed = TimedConnection(raw)
        summary = ingest_landing_zone(
            timed,
            default_form(),
            args.landing,
            "profile",
            args.full_refresh,
            progress,
            memory=ExportMemory(database.parent / "fms_exports"),
        )
        closing = time.perf_counter()
    total = time.perf_counter() - started
    close = time.perf_counter() - closing  # DuckDB writes what the WAL holds into the file
    in_duckdb = sum(timed.seconds.values())
    print(f"ingest {total:.1f} s, {summary.rows_loaded:,} rows loaded; in DuckDB {in_duckdb:.1f} s")
    for caller, seconds in sorted(timed.seconds.items(), key=lambda item: -item[1]):
        if seconds >= 0.05:
            print(f"  {seconds:7.1f} s  {timed.calls[caller]:5d} x  {caller}")
    print(f"  {close:7.1f} s  closing the database (its last checkpoint)")
    outside = total - in_duckdb - close
    print(f"  {outside:7.1f} s  outside DuckDB (Python: listing, hashing, parsing)")
    print(f"  {_next_checkpoint_seconds(database):7.1f} s  the next connection's first checkpoint")
    print("per file:")
    for name, outcome, seconds in file_seconds:
        if seconds >= 0.05:
            print(f"  {seconds:7.1f} s  {outcome:20s} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
