"""The quality gates inside the nightly flow: a planted critical failure blocks the refresh,
leaves the analysts' database byte-identical, and is visible in ops, Data Docs and artifacts."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.nightly import QualityGateFailed, nightly_refresh
from tests.helpers.kobo_files import refusal, submission, write_csv

pytestmark = pytest.mark.slow

FAILING_CHECK = "unexpected_rows_expectation(today: date from 2015-01-01 to max_interview_date)"


def _landing(root: Path) -> Path:
    landing = root / "landing"
    interviews = [
        submission(f"a{i}", **{"profile/sex": "female" if i % 2 else "male"}) for i in range(30)
    ]
    write_csv(landing / "fms" / "export_1.csv", [*interviews, refusal("r1")])
    (landing / "fmr").mkdir()
    (landing / "stories").mkdir()
    return landing


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _latest_markdown(key: str) -> str:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return str(artifacts[0].data)


def test_a_planted_critical_failure_blocks_the_refresh_and_the_published_database_stays(
    prefect_harness: None, tmp_path: Path
) -> None:
    landing, data = _landing(tmp_path), tmp_path / "data"
    published = data / "published" / "warehouse.duckdb"
    internal = data / "internal" / "warehouse.duckdb"
    first = nightly_refresh(landing_dir=str(landing), data_dir=str(data))
    assert first.status == "published"
    # the worker builds the Data Docs while the run publishes: they are in its outcome
    assert first.data_docs == str(data / "internal" / "data_docs" / "index.html")
    assert first.data_docs_error is None and Path(first.data_docs).is_file()
    assert first.run_id in _latest_markdown("quality-report")
    not_passed = "SELECT check_name FROM ops.quality_results WHERE success IS NOT TRUE"
    # no registry tallies were delivered: an empty mart is a warning, not a reason to block
    assert _query(published, not_passed) == [("expect_table_row_count_to_be_between(not empty)",)]
    before = _sha256(published)
    # A submission written around ingest, which would have quarantined it: a device clock in
    # 2014. dbt builds on it without complaint; the mart would publish a month of June 2014.
    with duckdb.connect(str(internal)) as connection:
        connection.execute(
            "INSERT INTO raw.fms_submissions SELECT * REPLACE ('z1' AS _uuid, 'uuid:z1' AS"
            " instance_id, '2014-06-03' AS today, current_timestamp::TIMESTAMP AS loaded_at)"
            " FROM raw.fms_submissions WHERE _uuid = 'a1'"
        )

    with pytest.raises(QualityGateFailed) as blocked:
        nightly_refresh(landing_dir=str(landing), data_dir=str(data))

    outcome = blocked.value.outcome
    assert outcome.status == "blocked_by_quality"
    # the first run validated every row it loaded; this one checks the rows loaded since
    assert re.fullmatch(
        rf"raw_fms_submissions\.{re.escape(FAILING_CHECK)}: 1 unexpected rows"
        r" \(rows with loaded_at after [-0-9:. ]+\)",
        outcome.message,
    )
    assert _sha256(published) == before
    assert _query(internal, "SELECT status FROM ops.runs ORDER BY started_at") == [
        ("published",),
        ("blocked_by_quality",),
    ]
    assert _query(
        internal,
        "SELECT suite, check_name FROM ops.quality_results "
        f"WHERE run_id = '{outcome.run_id}' AND severity = 'critical' AND NOT success",
    ) == [("raw_fms_submissions", FAILING_CHECK)]
    # GX's Data Docs: the run's page of the raw suite shows the failed check, linked from the
    # run's artifact; the index lists both runs
    index = data / "internal" / "data_docs" / "index.html"
    assert outcome.data_docs == str(index) and outcome.data_docs_error is None
    assert first.run_id in index.read_text() and outcome.run_id in index.read_text()
    (page,) = (index.parent / "validations" / "raw_fms_submissions" / outcome.run_id).rglob(
        "*.html"
    )
    text = page.read_text()
    assert "date from 2015-01-01 to max_interview_date" in text and "fa-times" in text
    assert (data / "internal" / "quality" / outcome.run_id / "raw_fms_submissions.json").is_file()
    markdown = _latest_markdown("quality-report")
    assert outcome.run_id in markdown and "**blocked publication**" in markdown
    assert page.resolve().as_uri() in markdown and index.resolve().as_uri() in markdown
    # a blocked run does not mark its rows validated: the next refresh is blocked again
    with pytest.raises(QualityGateFailed) as again:
        nightly_refresh(landing_dir=str(landing), data_dir=str(data))
    assert again.value.outcome.message == outcome.message


def test_data_docs_that_fail_after_publishing_leave_the_run_published_and_say_why(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Data Docs arrive after the database is swapped in: whatever goes wrong with them
    # (here the artifacts that link them) cannot undo or misreport the publication.
    import flows.quality.artifacts

    def unreachable_api(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the Prefect API did not answer")

    monkeypatch.setattr(flows.quality.artifacts, "create_quality_artifacts", unreachable_api)
    landing, data = _landing(tmp_path), tmp_path / "data"

    outcome = nightly_refresh(landing_dir=str(landing), data_dir=str(data))

    assert outcome.status == "published"
    assert outcome.data_docs_error == "the Prefect API did not answer"
    assert outcome.data_docs == str(data / "internal" / "data_docs" / "index.html")
    runs = _query(data / "internal" / "warehouse.duckdb", "SELECT status FROM ops.runs")
    assert runs == [("published",)]
    assert (data / "published" / "warehouse.duckdb").is_file()
