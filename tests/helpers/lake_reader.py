"""An analyst in another process: query the lake's published catalog again and again.

    python -m tests.helpers.lake_reader LAKE_URL LAKE_DATA OUT STOP

Each query opens the published catalog as `fmw query` does (read-only, confined), reads one
state across three tables, and appends a JSON line to OUT: the answer, or the error, and the
seconds it took. It stops when the file STOP exists.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from flows.warehouse.lake import PUBLISHED, Lake, connect_analyst

STATE = (
    "SELECT (SELECT max(run_id) FROM ops.runs WHERE status = 'published'), "
    "(SELECT sum(individuals) FROM marts.fmr_daily_flows), "
    "(SELECT count(*) FROM ops.file_loads)"
)


def read_state(lake: Lake) -> list[object]:
    with connect_analyst(lake) as connection:
        return list(connection.execute(STATE).fetchone())


def main(url: str, data: str, out: str, stop: str) -> None:
    lake = Lake(url, data, PUBLISHED, read_only=True)
    with Path(out).open("a") as answers:
        while not Path(stop).exists():
            started = time.perf_counter()
            try:
                line = {"state": read_state(lake)}
            except Exception as error:  # noqa: BLE001 - every error is what the test counts
                line = {"error": f"{type(error).__name__}: {error}"}
            line["seconds"] = time.perf_counter() - started
            answers.write(json.dumps(line, default=str) + "\n")
            answers.flush()


if __name__ == "__main__":
    main(*sys.argv[1:5])
