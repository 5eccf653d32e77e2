"""A refresh rebuilds only what the sources with new rows feed, and ends where a full
refresh of the same landing zone ends.

A generated landing zone arrives one source at a time; each refresh's dbt build must
select that source's models alone, and the published database after the last one must
equal, table by table and row by row, what `--full-refresh` publishes from scratch.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dbt.contracts.graph.manifest import Manifest

from flows import nightly
from flows.config import Settings
from flows.nightly import nightly_refresh
from flows.sample.generator import generate_landing_zone
from flows.step import Step
from flows.transform.dbt import DbtResult, run_dbt

pytestmark = pytest.mark.slow

SOURCES = ("fms", "fmr", "stories", "reference")
ARRIVALS = (("fms",), ("fmr",), ("stories", "reference"))


def _published_tables(path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        return {
            name: sorted(
                con.execute(f"SELECT * FROM marts.{name}").fetchall(), key=lambda r: repr(r)
            )
            for name in names
        }


@pytest.fixture
def dbt_selections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    selections: list[tuple[str, ...]] = []

    def recording(
        settings: Settings,
        command: str = "build",
        select: tuple[str, ...] = (),
        progress: Callable[[Step], None] = lambda step: None,
        manifest: Manifest | None = None,
    ) -> list[DbtResult]:
        selections.append(select)
        steps: list[Step] = []
        results = run_dbt(settings, command, select, progress=steps.append, manifest=manifest)
        # progress: a step per node dbt ran, counted against the total dbt announced
        assert sorted(s.item for s in steps) == sorted(r.name for r in results)
        assert [s.position for s in steps] == list(range(1, len(results) + 1))
        assert {s.total for s in steps} == {len(results)}
        return results

    monkeypatch.setattr(nightly, "run_dbt", recording)
    return selections


def test_source_by_source_refreshes_publish_what_a_full_refresh_publishes(
    prefect_harness, tmp_path, dbt_selections
):
    delivered = tmp_path / "delivered"
    generate_landing_zone(delivered, surveys=150, seed=11)
    assert all(any((delivered / source).iterdir()) for source in SOURCES)
    landing, data = tmp_path / "landing", tmp_path / "data"
    for source in SOURCES:
        (landing / source).mkdir(parents=True)

    for sources in ARRIVALS:
        for source in sources:
            shutil.copytree(delivered / source, landing / source, dirs_exist_ok=True)
        outcome = nightly_refresh(landing_dir=str(landing), data_dir=str(data))
        assert outcome.status == "published", sources
    full = tmp_path / "full"
    outcome = nightly_refresh(landing_dir=str(landing), data_dir=str(full), full_refresh=True)

    assert outcome.status == "published"
    assert dbt_selections == [
        (),  # the first build builds everything
        ("source:fmr+",),
        ("source:fx+", "source:stories+"),  # the exchange-rate overrides are in reference/
        (),  # --full-refresh
    ]
    stepwise = _published_tables(data / "published" / "warehouse.duckdb")
    from_scratch = _published_tables(full / "published" / "warehouse.duckdb")
    assert sorted(stepwise) == sorted(from_scratch)
    for table, rows in from_scratch.items():
        assert stepwise[table] == rows, table
