"""dbt tier: the incremental interview fact gives what a full refresh gives.

One raw layer, three `dbt run`s of fct_fms_interviews and its parents: a first build, an
incremental run after ingest brought edits, status changes and new submissions, and a
`--full-refresh` of the same raw layer. The incremental result must equal the full one.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flows.config import resolve_settings
from flows.transform.dbt import dbt_vars
from tests.helpers.dbt_fixtures import (
    DBT_PROJECT_DIR,
    create_raw_layer,
    insert_submissions,
    invoke_dbt,
    replace_submissions,
    submission,
)

# Most of the first delivery is loaded before the fact's watermark (its latest
# chain_loaded_at, 2026-03-11), so only chains touched after it are re-derived.
FIRST_LOAD = "2026-03-01 00:00:00"
LATEST_FIRST_LOAD = "2026-03-11 00:00:00"
SECOND_LOAD = "2026-04-11 00:00:00"
FACT_SQL = "select * from core.fct_fms_interviews order by chain_root_uuid"
VERSIONS_SQL = "select * from intermediate.int_fms_submission_versions order by submission_uuid"


def _first_delivery() -> list[dict]:
    load = {"loaded_at": FIRST_LOAD, "loaded_run_id": "run-1"}
    return [
        submission("keep", 1, **load),
        submission("to-reject", 2, **load),
        submission("edited", 3, **load),
        submission("fork", 4, **load),
        submission("fork-a", 5, deprecated_id="uuid:fork", **load),
        # m3 edits m2, which has not arrived yet: for now m3 is its own chain (root m2)
        submission("merge-1", 6, **load),
        submission("merge-3", 7, deprecated_id="uuid:merge-2", **load),
        submission("rejected-then-approved", 8,
                   _validation_status="validation_status_not_approved", **load),
        submission("to-refusal", 9, **load),
        submission("keep-latest", 15, loaded_at=LATEST_FIRST_LOAD, loaded_run_id="run-1"),
        submission("link-1", 16, **load),
        submission("link-2", 17, deprecated_id="uuid:link-1", **load),
        # gone-1 never arrived: gone-2 edits it, gone-3 edits gone-2
        submission("gone-2", 18, deprecated_id="uuid:gone-1", **load),
        submission("gone-3", 19, deprecated_id="uuid:gone-2", **load),
    ]  # fmt: skip


def _second_delivery() -> tuple[list[dict], list[dict]]:
    """(changed rows that replace held ones, new rows), as the next ingest writes them."""
    load = {"loaded_at": SECOND_LOAD, "loaded_run_id": "run-2"}
    changed = [
        submission("to-reject", 2, _validation_status="validation_status_not_approved", **load),
        submission("rejected-then-approved", 8,
                   _validation_status="validation_status_approved", **load),
        # delivered again without their deprecatedID: link-1 and gone-2 are final again
        submission("link-2", 17, **load),
        submission("gone-3", 19, **load),
    ]  # fmt: skip
    new = [
        submission("edited-b", 10, deprecated_id="uuid:edited", dest_country="CHN", **load),
        # a second, later edit of the same original: it wins over fork-a
        submission("fork-b", 11, deprecated_id="uuid:fork", sex="female",
                   _submission_time="2026-04-01T03:00:00", **load),
        # the missing middle version: merge-1 -> merge-2 -> merge-3 is now one chain
        submission("merge-2", 12, deprecated_id="uuid:merge-1", **load),
        # an edit that turns the interview into a refusal
        submission("to-refusal-b", 13, deprecated_id="uuid:to-refusal", consent="no", **load),
        submission("new", 14, **load),
    ]  # fmt: skip
    return changed, new


def _run(db_path: Path, target: Path, *extra: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FMW_INTERNAL_DB", str(db_path))
        result = invoke_dbt(
            [
                "run",
                "--select", "+fct_fms_interviews",
                "--project-dir", str(DBT_PROJECT_DIR),
                "--profiles-dir", str(DBT_PROJECT_DIR),
                "--target-path", str(target),
                "--log-path", str(target / "logs"),
                "--vars", json.dumps(dbt_vars(resolve_settings())),
                "--quiet",
                *extra,
            ]
        )  # fmt: skip
    assert result.exception is None and result.success, result


def _fact(db_path: Path) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(FACT_SQL).fetchall()


def _versions(db_path: Path) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(VERSIONS_SQL).fetchall()


def _finals(db_path: Path) -> dict[str, str]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return dict(
            con.execute(
                "select chain_root_uuid, submission_uuid from core.fct_fms_interviews"
            ).fetchall()
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("dbt_incremental")
    db_path = tmp / "internal.duckdb"
    create_raw_layer(db_path)
    insert_submissions(db_path, _first_delivery())
    _run(db_path, tmp / "target")
    first = _finals(db_path)
    # Mark an untouched chain's row: an incremental run must leave it as it is.
    with duckdb.connect(str(db_path)) as con:
        con.execute("update core.fct_fms_interviews set age = 99 where submission_uuid = 'keep'")

    changed, new = _second_delivery()
    replace_submissions(db_path, changed)
    insert_submissions(db_path, new)
    _run(db_path, tmp / "target")
    with duckdb.connect(str(db_path)) as con:
        marked = con.execute(
            "select age from core.fct_fms_interviews where submission_uuid = 'keep'"
        ).fetchone()[0]
        con.execute("update core.fct_fms_interviews set age = 30 where submission_uuid = 'keep'")
    incremental = _fact(db_path)
    incremental_finals = _finals(db_path)
    incremental_versions = _versions(db_path)
    _run(db_path, tmp / "target")  # nothing new: a no-op
    rerun = _fact(db_path)
    rerun_versions = _versions(db_path)

    _run(db_path, tmp / "target", "--full-refresh")
    return {
        "incremental_versions": incremental_versions,
        "rerun_versions": rerun_versions,
        "full_versions": _versions(db_path),
        "first": first,
        "marked": marked,
        "incremental": incremental,
        "incremental_finals": incremental_finals,
        "rerun": rerun,
        "full": _fact(db_path),
    }


@pytest.mark.slow
def test_first_build_resolves_what_has_arrived(runs: dict) -> None:
    assert runs["first"] == {
        "keep": "keep",
        "to-reject": "to-reject",
        "edited": "edited",
        "fork": "fork-a",
        "merge-1": "merge-1",
        "merge-2": "merge-3",  # its own chain until merge-2 arrives
        "to-refusal": "to-refusal",
        "keep-latest": "keep-latest",
        "link-1": "link-2",
        "gone-1": "gone-3",
    }


@pytest.mark.slow
def test_incremental_run_leaves_untouched_chains_alone(runs: dict) -> None:
    assert runs["marked"] == 99


@pytest.mark.slow
def test_incremental_run_applies_edits_status_changes_and_merged_chains(runs: dict) -> None:
    assert runs["incremental_finals"] == {
        "keep": "keep",
        "edited": "edited-b",
        "fork": "fork-b",
        "merge-1": "merge-3",  # the stale row filed under root merge-2 is gone
        "rejected-then-approved": "rejected-then-approved",
        "new": "new",
        "keep-latest": "keep-latest",
        "link-1": "link-1",  # untouched itself, but no longer edited
        "link-2": "link-2",
        "gone-1": "gone-2",  # its chain has nothing newly loaded
        "gone-3": "gone-3",
    }  # to-reject is rejected now, to-refusal ends in a refusal: both gone


@pytest.mark.slow
def test_incremental_runs_equal_a_full_refresh(runs: dict) -> None:
    assert runs["incremental"] == runs["full"]
    assert runs["rerun"] == runs["incremental"]


@pytest.mark.slow
def test_incremental_edit_resolution_equals_a_full_refresh(runs: dict) -> None:
    assert runs["incremental_versions"] == runs["full_versions"]
    assert runs["rerun_versions"] == runs["full_versions"]
    # the second delivery re-placed chains that existed before it (a sanity check on the data)
    merged = [v for v in runs["full_versions"] if v[0] in {"merge-1", "merge-2", "merge-3"}]
    assert {v[1] for v in merged} == {"merge-1"}
