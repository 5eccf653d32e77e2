"""The nightly flow end to end on hand-built landing zones: publishing, idempotence and
readers during a refresh. Refreshes killed at every stage: tests/ops/test_kill_campaign.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.contracts.graph.manifest import Manifest

from flows import nightly
from flows.config import Settings
from flows.nightly import RefreshOutcome, nightly_refresh
from flows.step import Step
from flows.transform.dbt import DbtResult, generate_docs, run_dbt
from tests.helpers.dbt_compiles import DocsCompiles
from tests.helpers.kobo_files import refusal, submission, write_csv, write_kobo_json

pytestmark = pytest.mark.slow

# A published number that tells one state from the next whatever disclosure control withholds
# (the corridor counts of these tiny landing zones may all be withheld): the survey rows loaded.
TOTAL_SQL = "SELECT sum(rows_loaded) FROM ops.file_loads WHERE source = 'fms'"


def _interviews(prefix: str, count: int, month: str = "2026-03") -> list[dict[str, str]]:
    return [
        submission(
            f"{prefix}{i}",
            today=f"{month}-04",
            _submission_time=f"{month}-05T03:00:00",
            **{"profile/sex": "female" if i % 2 else "male"},
        )
        for i in range(count)
    ]


def _landing(root: Path) -> Path:
    landing = root / "landing"
    write_csv(landing / "fms" / "export_1.csv", _interviews("a", 30) + [refusal("r1")])
    (landing / "fmr").mkdir()
    (landing / "stories").mkdir()
    return landing


def _add_export(landing: Path, name: str, extra: int) -> None:
    rows = _interviews("a", 30) + _interviews("b", extra, "2026-04")
    path = write_kobo_json(landing / "fms" / name, rows)
    later = time.time() + 10
    os.utime(path, (later, later))


def _published_total(data_dir: Path) -> int:
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(TOTAL_SQL).fetchone()[0]


def _last_dbt_build(data: Path) -> object:
    with duckdb.connect(str(data / "internal" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT built_at FROM ops.dbt_builds").fetchone()


def _record_dbt_builds(monkeypatch: pytest.MonkeyPatch) -> list[list[DbtResult]]:
    """The results of every dbt build the flow runs from now on."""
    builds: list[list[DbtResult]] = []

    def recording(
        settings: Settings,
        command: str = "build",
        select: tuple[str, ...] = (),
        progress: Callable[[Step], None] = lambda step: None,
        manifest: Manifest | None = None,
    ) -> list[DbtResult]:
        results = run_dbt(settings, command, select, progress, manifest)
        builds.append(results)
        return results

    monkeypatch.setattr(nightly, "run_dbt", recording)
    return builds


def _record_docs_sites(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every docs site the flow generates from now on."""
    sites: list[Path] = []

    def recording(settings: Settings, built: Manifest | None = None) -> Path:
        sites.append(generate_docs(settings, built))
        return sites[-1]

    monkeypatch.setattr(nightly, "generate_docs", recording)
    return sites


@dataclass(frozen=True)
class FirstRefresh:
    root: Path  # landing/ and data/ after the refresh
    outcome: RefreshOutcome
    builds: list[list[DbtResult]]  # the dbt builds it ran
    docs_sites: list[Path]  # the docs sites it generated
    docs_compiles: int  # the times docs generate compiled the project for them


@pytest.fixture(scope="module")
def first_refresh(tmp_path_factory: pytest.TempPathFactory, prefect_harness) -> FirstRefresh:
    """One published refresh of _landing, where every test here starts: each works on a
    copy (_copy), so the refresh runs once for the module."""
    root = tmp_path_factory.mktemp("first")
    landing = _landing(root)
    with pytest.MonkeyPatch.context() as patch:
        builds, docs_sites = _record_dbt_builds(patch), _record_docs_sites(patch)
        compiles = DocsCompiles(patch)
        outcome = nightly_refresh(landing_dir=str(landing), data_dir=str(root / "data"))
    return FirstRefresh(root, outcome, builds, docs_sites, compiles.count)


def _copy(first: FirstRefresh, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the first refresh's landing zone and data directory: (landing, data)."""
    shutil.copytree(first.root, tmp_path / "copy")
    return tmp_path / "copy" / "landing", tmp_path / "copy" / "data"


def test_a_refresh_publishes_and_a_second_one_changes_nothing(
    prefect_harness, first_refresh, tmp_path, monkeypatch
):
    landing, data = _copy(first_refresh, tmp_path)
    built_after_first = _last_dbt_build(data)
    builds = _record_dbt_builds(monkeypatch)

    second = nightly_refresh(landing_dir=str(landing), data_dir=str(data))

    assert (first_refresh.outcome.status, second.status) == ("published", "published")
    assert _published_total(data) == 31
    assert second.files == []
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        loads = con.execute(
            "SELECT file_name, rows_read, rows_loaded FROM ops.file_loads"
        ).fetchall()
        runs = con.execute("SELECT status FROM ops.runs ORDER BY started_at").fetchall()
    assert loads == [("export_1.csv", 31, 31)]
    assert _last_dbt_build(data) == built_after_first  # nothing new: dbt did not run again
    assert (len(first_refresh.builds), len(builds)) == (1, 0)
    kinds = {result.resource_type for result in first_refresh.builds[0]}
    assert {"model", "seed", "test"} <= kinds  # data tests run every night...
    assert "unit_test" not in kinds  # ...dbt unit tests run in pytest (test_dbt_project)
    docs = (data / "published" / "docs" / "index.html").read_text(encoding="utf-8")
    assert "fms_corridor_monthly" in docs
    # the site was written from the build's compiled nodes: dbt did not compile them again
    assert (len(first_refresh.docs_sites), first_refresh.docs_compiles) == (1, 0)
    assert runs == [("published",), ("published",)]


def test_readers_during_a_refresh_see_the_old_or_the_new_total_never_a_mix(
    prefect_harness, first_refresh, tmp_path, monkeypatch
):
    landing, data = _copy(first_refresh, tmp_path)
    builds, docs_sites = _record_dbt_builds(monkeypatch), _record_docs_sites(monkeypatch)
    _add_export(landing, "export_2.json", extra=12)
    published = data / "published" / "warehouse.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published), TOTAL_SQL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        outcome = nightly_refresh(landing_dir=str(landing), data_dir=str(data))
        time.sleep(1.0)
    finally:
        reader.terminate()
    out, err = reader.communicate(timeout=30)

    assert outcome.status == "published"
    answers = [line for line in out.splitlines() if line]
    assert "ERROR" not in out, out + err
    assert len(answers) > 10
    assert set(answers) == {"31", "43"}
    # New rows, same code: the marts were built again, the docs site was kept.
    assert (len(first_refresh.builds), len(builds)) == (1, 1)
    assert (len(first_refresh.docs_sites), len(docs_sites)) == (1, 0)
    # Survey rows only: what they feed was rebuilt, the registry's marts were left alone.
    rebuilt = {result.name for result in builds[0]}
    assert {"fct_fms_interviews", "fms_corridor_monthly", "crossing_point_monthly"} <= rebuilt
    assert not {"fmr_daily_flows", "dim_provinces", "story_catalogue"} & rebuilt
    published_docs = data / "published" / "docs" / "index.html"
    assert published_docs.read_bytes() == first_refresh.docs_sites[0].read_bytes()


READER = """
import sys, duckdb
path, sql = sys.argv[1], sys.argv[2]
while True:
    try:
        con = duckdb.connect(path, read_only=True)
        print(con.execute(sql).fetchone()[0], flush=True)
        con.close()
    except Exception as error:
        print("ERROR", type(error).__name__, error, flush=True)
"""
