"""`fmw` on a DuckLake warehouse (Postgres catalog, shared data folder), as separate processes.

One lake goes through a history: a first refresh (its marts equal the embedded mode's on the
same landing zone), analysts' commands, a refresh read by analysts in other processes while it
runs, a blocked refresh, a rollback, a refresh killed inside its publication and its rerun, and
a second refresh of the same lake from another data directory (another machine) while one
runs. Two other lakes then refresh at the same time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from flows.config import resolve_settings
from flows.publish.lake_release import connect_published, publications
from flows.sample.generator import generate_landing_zone
from flows.warehouse.lake import PUBLISHED, connect_internal, lake_of
from tests.helpers.lake_reader import read_state
from tests.helpers.postgres import LakeUnderTest, new_lake
from tests.helpers.prefect_server import PrefectApi

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
LATER = {"fmr": 1, "fms": 1}  # files that arrive after the first refresh
PREFECT_SERVER: dict[str, str] = {}  # the session's Prefect server, for every `fmw` started


@pytest.fixture(scope="module", autouse=True)
def _report_to_one_prefect_server(prefect_api: PrefectApi) -> None:
    """Every refresh started here reports to the session's Prefect server instead of
    starting Prefect's ephemeral API, 10-15 s of each (tests/ops/test_ephemeral_api.py and
    tests/ops/test_kill_campaign.py test that API)."""
    PREFECT_SERVER.update(prefect_api.env)


def _environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FMW_"))}
    environment["PYTHONPATH"] = str(REPO_ROOT)  # for tests.helpers
    environment.update(PREFECT_SERVER)
    return environment


def _fmw(*args: str, kill: str | None = None) -> subprocess.Popen:
    entry = ["tests.helpers.killing_cli", kill] if kill else ["flows.cli"]
    return _start(*entry, *args)


def _start(module: str, *args: str) -> subprocess.Popen:
    """`python -m module args` in a session of its own, its output kept for _finish."""
    out = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by _finish
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(),
        start_new_session=True,
    )
    process.output_file = out  # type: ignore[attr-defined]
    return process


def _finish(process: subprocess.Popen, timeout: float = 900) -> tuple[int, str]:
    returncode = process.wait(timeout=timeout)
    out = process.output_file  # type: ignore[attr-defined]
    out.seek(0)
    text = out.read()
    out.close()
    return returncode, text


def _refresh(lake: LakeUnderTest, landing: Path, data: Path, *extra: str) -> tuple[int, str]:
    return _finish(_refresh_started(lake, landing, data, *extra))


def _refresh_started(
    lake: LakeUnderTest, landing: Path, data: Path, *extra: str, kill: str | None = None
) -> subprocess.Popen:
    args = ["refresh", "--landing", str(landing), "--data-dir", str(data), *lake.args(), *extra]
    return _fmw(*args, kill=kill)


def _settings(lake: LakeUnderTest, data: Path):  # noqa: ANN202 - Settings
    return resolve_settings(data_dir=data, lake=lake.url, lake_data=str(lake.data))


def _state(lake: LakeUnderTest) -> list[object]:
    settings = _settings(lake, Path(tempfile.gettempdir()))
    return read_state(lake_of(settings, PUBLISHED, read_only=True))


def _snapshots(lake: LakeUnderTest) -> list[tuple[int, str, str]]:
    with connect_published(_settings(lake, Path(tempfile.gettempdir()))) as connection:
        return [(p.snapshot_id, p.kind, p.run_id) for p in publications(connection)]


def _marts_of_lake(lake: LakeUnderTest) -> dict[str, list[tuple]]:
    settings = _settings(lake, Path(tempfile.gettempdir()))
    with connect_published(settings) as connection:
        return _marts(connection, "lake")


def _marts(connection: duckdb.DuckDBPyConnection, database: str) -> dict[str, list[tuple]]:
    tables = connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name = 'marts' ORDER BY 1",
        [database],
    ).fetchall()
    return {
        table: sorted(
            connection.execute(f'SELECT * FROM {database}.marts."{table}"').fetchall(), key=repr
        )
        for (table,) in tables
    }


def _arrive(later: Path, landing: Path) -> None:
    arrival = time.time() + 60
    for path in sorted(later.rglob("*")):
        if path.is_file():
            target = landing / path.relative_to(later)
            shutil.copy2(path, target)
            os.utime(target, (arrival, arrival))


def _hold_back(landing: Path, later: Path, counts: dict[str, int]) -> None:
    for source, count in counts.items():
        (later / source).mkdir(parents=True)
        for path in sorted((landing / source).iterdir())[-count:]:
            shutil.move(path, later / source / path.name)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, postgres) -> dict[str, object]:
    """A lake with one published refresh, and the same landing zone refreshed in a file."""
    root = tmp_path_factory.mktemp("lake")
    landing, later = root / "landing", root / "later"
    generate_landing_zone(landing, surveys=150, seed=22)
    _hold_back(landing, later, LATER)
    lake = new_lake(postgres, root / "lake-data")
    in_lake = _refresh_started(lake, landing, root / "data")
    in_file = _fmw("refresh", "--landing", str(landing), "--data-dir", str(root / "file-data"))
    first = _finish(in_lake)
    assert first[0] == 0, first[1]
    assert _finish(in_file)[0] == 0
    return {"root": root, "landing": landing, "later": later, "lake": lake, "first": first}


def test_the_lake_publishes_the_marts_the_embedded_file_publishes(history):
    root, lake = Path(history["root"]), history["lake"]
    assert "published catalog, snapshot" in history["first"][1]
    with duckdb.connect(str(root / "file-data/published/warehouse.duckdb"), True) as file:
        in_file = _marts(file, "warehouse")
    in_lake = _marts_of_lake(lake)
    assert in_lake.keys() == in_file.keys() and len(in_lake) > 10
    assert in_lake == in_file
    # nothing of the warehouse is in the data directory: it holds run state only
    assert not (root / "data/internal/warehouse.duckdb").exists()
    assert not (root / "data/published/warehouse.duckdb").exists()
    assert list((lake.data / "internal").rglob("*.parquet"))
    assert list((lake.data / "published").rglob("*.parquet"))


def test_analysts_commands_read_the_lakes_published_catalog(history, tmp_path):
    root, lake = Path(history["root"]), history["lake"]
    code, out = _finish(
        _fmw("query", "select count(*) as n from marts.fmr_daily_flows", "--format", "csv",
             *lake.args())
    )  # fmt: skip
    assert code == 0, out
    assert out.splitlines()[0] == "n" and int(out.splitlines()[1]) > 0
    code, out = _finish(_fmw("query", "select * from raw.fms_submissions", *lake.args()))
    assert code == 1 and "raw" in out  # the published catalog has no raw layer
    target = tmp_path / "flows.csv"
    code, out = _finish(
        _fmw("export", "marts.fmr_daily_flows", "--format", "csv", "--out", str(target),
             *lake.args())
    )  # fmt: skip
    assert code == 0, out
    rows = len(_marts_of_lake(lake)["fmr_daily_flows"])
    assert len(target.read_text().splitlines()) == rows + 1
    code, out = _finish(_fmw("status", "--data-dir", str(root / "data"), *lake.args()))
    assert code == 0, out
    assert f"published: {lake.url} (published catalog" in out
    assert "publications in the catalog (for rollback): 1" in out
    assert " published " in out  # the run log, from the internal catalog


def test_readers_in_other_processes_see_the_old_or_the_new_state_during_a_refresh(history):
    root, lake = Path(history["root"]), history["lake"]
    before = _state(lake)
    _arrive(Path(history["later"]), Path(history["landing"]))
    answers, stop = root / "answers.jsonl", root / "stop-readers"
    readers = [_fmw_reader(lake, answers.with_suffix(f".{i}.jsonl"), stop) for i in range(2)]
    code, out = _refresh(lake, Path(history["landing"]), root / "data")
    stop.touch()
    for reader in readers:
        assert _finish(reader, 120)[0] == 0
    assert code == 0, out
    after = _state(lake)
    assert after != before and after[1] > before[1]
    lines = [
        json.loads(line)
        for path in root.glob("answers.*.jsonl")
        for line in path.read_text().splitlines()
    ]
    errors = [line["error"] for line in lines if "error" in line]
    states = [line["state"] for line in lines if "state" in line]
    assert errors == []
    assert len(states) >= 20
    assert {json.dumps(s, default=str) for s in states} <= {
        json.dumps(before, default=str),
        json.dumps(after, default=str),
    }
    history["after_second"] = after


def _fmw_reader(lake: LakeUnderTest, out: Path, stop: Path) -> subprocess.Popen:
    return _start("tests.helpers.lake_reader", lake.url, str(lake.data), str(out), str(stop))


def test_a_blocked_refresh_leaves_analysts_on_the_previous_snapshot(history):
    root, lake = Path(history["root"]), history["lake"]
    before, kept = _state(lake), _snapshots(lake)
    settings = _settings(lake, root / "data")
    # A submission written around ingest, which would have quarantined it: a 2014 interview.
    with connect_internal(settings) as connection:
        connection.execute(
            "INSERT INTO raw.fms_submissions SELECT * REPLACE ('z1' AS _uuid, 'uuid:z1' AS "
            "instance_id, '2014-06-03' AS today, current_timestamp::TIMESTAMP AS loaded_at) "
            "FROM raw.fms_submissions LIMIT 1"
        )
    code, out = _refresh(lake, Path(history["landing"]), root / "data")
    with connect_internal(settings) as connection:
        connection.execute("DELETE FROM raw.fms_submissions WHERE _uuid = 'z1'")
    assert code == 2, out
    assert "nothing was published" in out
    assert _state(lake) == before
    assert _snapshots(lake) == kept


def test_rollback_goes_back_one_published_snapshot(history):
    root, lake = Path(history["root"]), history["lake"]
    kept = _snapshots(lake)
    assert [kind for _, kind, _ in kept] == ["publish", "publish"]
    code, out = _finish(_fmw("rollback", "--data-dir", str(root / "data"), *lake.args()))
    assert code == 0, out
    assert f"re-published the tables of run {kept[0][2]}" in out
    state = _state(lake)
    assert state[0] == kept[0][2] and state[1] < history["after_second"][1]
    code, out = _finish(_fmw("rollback", "--data-dir", str(root / "data"), *lake.args()))
    assert code == 1 and "no publication older than" in out


def test_a_refresh_killed_inside_its_publication_changes_nothing_and_the_rerun_converges(
    history,
):
    root, lake = Path(history["root"]), history["lake"]
    before, kept = _state(lake), _snapshots(lake)
    # killed after every table was copied into the open catalog transaction, before COMMIT
    killed = _refresh_started(
        lake, Path(history["landing"]), root / "data",
        kill="flows.publish.lake_release:_apply_comments",
    )  # fmt: skip
    code, out = _finish(killed)
    assert code == -9, out
    assert _state(lake) == before
    assert _snapshots(lake) == kept
    code, out = _refresh(lake, Path(history["landing"]), root / "data")
    assert code == 0, out
    assert "was killed; cleaning up after it" in out
    assert _state(lake)[1:] == history["after_second"][1:]  # the whole landing zone again
    with connect_internal(_settings(lake, root / "data"), read_only=True) as connection:
        statuses = connection.execute("SELECT status FROM ops.runs ORDER BY started_at").fetchall()
    assert [s for (s,) in statuses][-2:] == ["failed", "published"]


def test_a_second_refresh_of_the_same_lake_from_another_machine_is_refused_clearly(
    history, tmp_path
):
    root, lake = Path(history["root"]), history["lake"]
    kept = _snapshots(lake)
    first = _refresh_started(lake, Path(history["landing"]), root / "data")
    _wait_for_lake_lock(lake)
    # another data directory: the flock there is free, the lake's lock is not
    second = _refresh(lake, Path(history["landing"]), tmp_path / "other-machine")
    code, out = _finish(first)
    assert code == 0, out
    assert second[0] == 3, second[1]
    assert "is still running on this lake" in second[1] and "fmw refresh pid" in second[1]
    assert len(_snapshots(lake)) == len(kept) + 1


def _wait_for_lake_lock(lake: LakeUnderTest, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    query = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        f"AND database = (SELECT oid FROM pg_database WHERE datname = '{lake.database}')"
    )
    while time.monotonic() < deadline:
        if lake.server.psql(query).strip() == "1":
            return
        time.sleep(0.2)
    raise AssertionError("the first refresh never took the lake's lock")


def test_two_lakes_refresh_at_the_same_time(postgres, tmp_path):
    """Two warehouses (two Postgres databases, two data folders) from different landing zones:
    neither waits for the other, and each publishes its own files."""
    runs = []
    for name, surveys in (("a", 100), ("b", 120)):
        landing = tmp_path / name / "landing"
        generate_landing_zone(landing, surveys=surveys, seed=30 + surveys)
        lake = new_lake(postgres, tmp_path / name / "lake-data")
        runs.append((lake, landing, _refresh_started(lake, landing, tmp_path / name / "data")))
    loaded = []
    for lake, landing, process in runs:
        code, out = _finish(process)
        assert code == 0, out
        with connect_published(_settings(lake, tmp_path)) as connection:
            files = set(
                connection.execute("SELECT source, file_name, sha256 FROM ops.file_loads")
                .fetchall()
            )  # fmt: skip
        assert files == _landing_files(landing)
        loaded.append(files)
    assert loaded[0] != loaded[1]


def _landing_files(landing: Path) -> set[tuple[str, str, str]]:
    return {
        (path.parent.name, path.name, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in landing.glob("*/*")
        if path.is_file()
    }
