"""The fault campaign: refreshes SIGKILLed at moments spread over ingest, the dbt build,
quality and the publish rename window.

After each kill: the published database is byte for byte the one before, or the complete new
state (it opens read-only and holds the marts of an uninterrupted run); no process of the
killed run is left (the quality worker, the ephemeral Prefect API server, anything that
carries the run's marker in its environment or sits in its process group); the refresh lock
is free. The kills follow each other on one data directory, each killed refresh first
cleaning up after the one before, and the refresh after the last publishes the marts an
uninterrupted refresh of the same landing zone publishes; the killed runs are on record as
interrupted (`fmw status` says so), and the refresh after a kill says it cleans up after it.
Three kills take only the refresh process (as the out-of-memory killer does), the others its
whole process group.

The refreshes report to the session's Prefect server (the `prefect_api` fixture), as under
`fmw serve`, rather than each starting Prefect's ephemeral API (10-15 s apiece); one kill that
takes the refresh process alone runs with the ephemeral API, the case where only
flows.parent_death ends that server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from flows.config import Settings, resolve_settings
from flows.ops.run_lock import refresh_running
from flows.publish.release import published_run_id, run_id_of_snapshot, snapshots
from flows.sample.generator import generate_landing_zone
from tests.helpers.prefect_server import PrefectApi

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "FMW_KILL_CAMPAIGN_RUN"
CAMPAIGN_ID = uuid.uuid4().hex  # every marker of this campaign starts with it


@dataclass(frozen=True)
class Kill:
    moment: str  # a tests.helpers.killing_cli moment
    what: str
    scope: str = "group"  # or "process": the refresh process alone
    publishes: bool = False  # whether the killed run had already swapped its database in
    ephemeral_api: bool = False  # whether the run starts Prefect's ephemeral API (no server)


CAMPAIGN = [
    Kill("flows.ingest.landing_zone:load_staged_fms:after", "ingest: mid-file (FMS rows written)"),
    Kill(
        "flows.ingest.landing_zone:_load_in_transaction:after",
        "ingest: between files",
        scope="process",
    ),
    Kill("flows.ingest.fmr:load_validated_csv:after", "ingest: mid-file (FMR rows written)"),
    Kill("flows.nightly:record_ingest_counts", "ingest: done, run not yet updated"),
    Kill("flows.nightly:transform_stage", "dbt: before the build"),
    Kill(
        "dbt.adapters.duckdb.connections:DuckDBConnectionManager.execute@40",
        "dbt: during a model (40th statement)",
    ),
    Kill("flows.nightly:record_dbt_build", "dbt: built, not yet recorded"),
    Kill("flows.nightly:build_candidate:after", "quality: candidate built"),
    Kill(
        "flows.quality.worker_parent:QualityWorker._ask:+3",
        "quality: worker running the gates",
        scope="process",
        ephemeral_api=True,
    ),
    Kill("flows.quality.records:keep_results", "quality: verdicts recorded, not kept"),
    Kill("flows.publish.release:keep_snapshot:after", "publish: snapshot written"),
    Kill("flows.publish.release:_fsync", "publish: incoming file written, before the rename"),
    Kill("flows.publish.release:_fsync_dir", "publish: just after the rename", publishes=True),
    Kill(
        "flows.nightly:publish_report",
        "publish: database swapped, report not",
        scope="process",
        publishes=True,
    ),
]

# Sample files that arrive after the published baseline, so that every stage has work.
ARRIVING_LATER = {"fms": 2, "fmr": 1, "stories": 2}


def _environment(marker: str, scope: str, server: PrefectApi | None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    environment["PYTHONPATH"] = str(REPO_ROOT)  # for tests.helpers.killing_cli
    environment[MARKER] = marker
    environment["FMW_KILL_SCOPE"] = scope
    environment.update(server.env if server else {})
    return environment


@dataclass(frozen=True)
class Run:
    pid: int  # also its process group's and its session's id
    returncode: int
    output: str


def _refresh(settings: Settings, marker: str, server: PrefectApi, kill: Kill | None = None) -> Run:
    """`fmw refresh` in a session of its own, reporting to `server` unless `kill` says it
    starts the ephemeral API; killed at `kill`'s moment when given."""
    entry = ["tests.helpers.killing_cli", kill.moment] if kill else ["flows.cli"]
    args = ["refresh", "--landing", str(settings.landing_dir), "--data-dir", str(settings.data_dir)]
    scope = kill.scope if kill else "group"
    served = None if kill and kill.ephemeral_api else server
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", *entry, *args],
            stdout=out,
            stderr=err,
            text=True,
            env=_environment(marker, scope, served),
            start_new_session=True,
        )
        returncode = process.wait(timeout=900)
        out.seek(0)
        err.seek(0)
        return Run(process.pid, returncode, out.read() + err.read())


def _processes(marker: str, group: int | None = None) -> dict[int, str]:
    """Live processes (zombies are dead) whose environment has a marker starting with
    `marker`, or that are in process group `group`: pid -> command line."""
    needle = f"{MARKER}={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            state, _, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            if state != "Z" and (int(pgrp) == group or needle in (entry / "environ").read_bytes()):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = command.strip()
    return found


def _remains(
    run: Run, marker: str, lock_path: Path, seconds: float = 10
) -> tuple[dict[int, str], dict[str, object] | None, float]:
    """What is left of a killed run once `seconds` have passed or nothing is: its processes,
    the refresh lock's holder, and how long they took to go. A process that is exiting can no
    longer be told by its environment, but may still hold the lock: both are waited for."""
    started = time.monotonic()
    while True:
        left, holder = _processes(marker, run.pid), refresh_running(lock_path)
        waited = time.monotonic() - started
        if (not left and holder is None) or waited > seconds:
            return left, holder, waited
        time.sleep(0.05)


def _end(processes: dict[int, str]) -> None:
    for pid in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _marts(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every marts.* table's rows, in a stable order; opened read-only, as analysts do."""
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        return {
            table: sorted(connection.execute(f'SELECT * FROM marts."{table}"').fetchall(), key=repr)
            for table in tables
        }


def _runs(settings: Settings) -> dict[str, tuple[str, str]]:
    """run_id -> (status, message) of every run on record."""
    with duckdb.connect(str(settings.internal_db), read_only=True) as connection:
        rows = connection.execute("SELECT run_id, status, coalesce(message, '') FROM ops.runs")
        return {run_id: (status, message) for run_id, status, message in rows.fetchall()}


def _status(settings: Settings) -> str:
    """What `fmw status` prints for the data directory."""
    status = subprocess.run(
        [sys.executable, "-m", "flows.cli", "status", "--data-dir", str(settings.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return status.stdout


def _prefect_db(settings: Settings) -> Path:
    return settings.prefect_home / "prefect.db"


def _published_names(settings: Settings) -> set[str]:
    return {path.name for path in settings.published_dir.iterdir()}


def _settings(root: Path) -> Settings:
    return resolve_settings(landing_dir=root / "landing", data_dir=root / "data")


def _arrive(later: Path, landing: Path) -> None:
    """Move the held-back files into the landing zone, newer than everything in it."""
    arrival = time.time() + 60
    for path in sorted(later.rglob("*")):
        if path.is_file():
            target = landing / path.relative_to(later)
            shutil.copy2(path, target)
            os.utime(target, (arrival, arrival))


@pytest.fixture(scope="module")
def baseline(
    tmp_path_factory: pytest.TempPathFactory, prefect_api: PrefectApi
) -> tuple[Path, Path]:
    """A data directory with one published refresh of a sample landing zone, and the
    sample's files that had not arrived yet."""
    root = tmp_path_factory.mktemp("campaign")
    landing, later = root / "landing", root / "later"
    generate_landing_zone(landing, surveys=100, seed=20)
    for source, count in ARRIVING_LATER.items():
        (later / source).mkdir(parents=True)
        for path in sorted((landing / source).iterdir())[-count:]:
            shutil.move(path, later / source / path.name)
    first = _refresh(_settings(root), f"{CAMPAIGN_ID}-baseline", prefect_api)
    assert first.returncode == 0, first.output
    return root, later


def test_refreshes_killed_at_every_stage_converge_to_an_uninterrupted_refresh(
    baseline: tuple[Path, Path], tmp_path: Path, prefect_api: PrefectApi
) -> None:
    started = time.monotonic()
    root, later = baseline
    uninterrupted, killed = _settings(tmp_path / "uninterrupted"), _settings(tmp_path / "killed")
    for settings in (uninterrupted, killed):
        shutil.copytree(root, settings.data_dir.parent, dirs_exist_ok=True)
        _arrive(later, settings.landing_dir)
    reference_run = _refresh(uninterrupted, f"{CAMPAIGN_ID}-reference", prefect_api)
    assert reference_run.returncode == 0, reference_run.output
    reference = _marts(uninterrupted.published_db)
    published_names = _published_names(killed)
    published_runs = {published_run_id(killed)}
    outcomes: list[str] = []
    try:
        for number, kill in enumerate(CAMPAIGN, start=1):
            before = _sha256(killed.published_db)
            marker, kill_started = f"{CAMPAIGN_ID}-kill-{number}", time.monotonic()
            no_prefect_db = not _prefect_db(killed).exists()
            run = _refresh(killed, marker, prefect_api, kill)
            assert run.returncode == -signal.SIGKILL, (kill, run.output)
            if kill.ephemeral_api:  # it ran: its database is under the data directory now
                assert no_prefect_db and _prefect_db(killed).exists(), kill
            survivors, lock_holder, gone_after = _remains(run, marker, killed.lock_path)
            _end(survivors)
            assert not survivors, (kill, survivors)
            assert lock_holder is None, (kill, lock_holder)
            if _sha256(killed.published_db) == before:
                outcome = "unchanged"
            else:
                assert _marts(killed.published_db) == reference, kill
                outcome = "complete new state"
            assert (outcome != "unchanged") == kill.publishes, (kill, outcome)
            published_runs.add(published_run_id(killed))
            api = "ephemeral API" if kill.ephemeral_api else "server"
            outcomes.append(
                f"{kill.what:<50} {kill.scope:<7} {api:<13} {outcome:<18} "
                f"gone in {gone_after:4.2f} s, run {time.monotonic() - kill_started:5.1f} s"
            )

        final = _refresh(killed, f"{CAMPAIGN_ID}-final", prefect_api)
        assert final.returncode == 0, final.output
        assert "was killed; cleaning up after it" in final.output
        assert _marts(killed.published_db) == reference
        published_runs.add(published_run_id(killed))
        # Nothing a killed swap left behind stays beside the analysts' database, and every
        # snapshot kept (what `fmw rollback` goes back to) is of a database once published.
        assert _published_names(killed) == published_names
        assert {run_id_of_snapshot(path) for path in snapshots(killed)} <= published_runs
        # A run killed after its database was swapped in is recorded as published; every
        # other killed run as interrupted, which `fmw status` shows.
        runs = _runs(killed)
        assert {runs[run_id][0] for run_id in published_runs} == {"published"}
        interrupted = {run_id for run_id, (_, message) in runs.items() if "interrupted" in message}
        assert len(interrupted) == sum(not kill.publishes for kill in CAMPAIGN)
        assert {runs[run_id][0] for run_id in interrupted} == {"failed"}
        assert "interrupted" in _status(killed)
    finally:
        _end(_processes(CAMPAIGN_ID))
        print("\n".join(["", *outcomes, f"campaign: {time.monotonic() - started:.0f} s"]))
