"""Specification of the quality gates of a refresh (flows.quality.gates): which suites run where,
with which run parameters; what blocks publication; how results are kept, rendered, summarised."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

import flows.quality.gates
from flows.config import EXPECTATIONS_DIR, Settings
from flows.form.xlsform import Form
from flows.quality.artifacts import artifact_markdown, artifact_table
from flows.quality.data_docs import DataDocs
from flows.quality.gates import (
    PUBLISHED_SUITES,
    RAW_SUITES,
    QualityReport,
    record_validated_marks,
    row_counts,
    run_parameters,
    run_quality_gates,
)
from flows.quality.gx_duckdb import CheckResult
from flows.quality.records import keep_results, record_quality_results
from flows.warehouse.schema import ensure_schema
from tests.helpers.dbt_fixtures import submission
from tests.quality.test_quality_marts import candidate

TODAY = date(2026, 3, 20)


def internal_db(settings: Settings, form: Form) -> Path:
    """An internal database whose facts match the candidate of test_quality_marts."""
    path = settings.internal_db
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as connection:
        ensure_schema(connection, form)
        # The dbt project's interface for the gates, as a build of these rows would fill it.
        connection.execute("CREATE SCHEMA audit")
        connection.execute(
            "CREATE TABLE audit.audit_quality_facts AS SELECT 50::BIGINT AS fms_respondents,"
            " 4::BIGINT AS public_stories, 200::BIGINT AS registry_individuals"
        )
        connection.execute(
            "INSERT INTO raw.fmr_tallies (date, fmp, direction, count) VALUES "
            "('2026-03-04', 'LAO_FMP_001', 'outflow', '120'),"
            " ('2026-03-04', 'LAO_FMP_001', 'inflow', '80')"
        )
        connection.execute(
            "INSERT INTO raw.stories (id, title, published, pseudonym, consent) SELECT 's' || i,"
            " 'A story', '2026-01-01', 'Keo', CASE WHEN i < 4 THEN 'public' ELSE 'internal' END"
            " FROM range(6) AS t(i)"
        )
    return path


@pytest.fixture
def settings(tmp_path: Path, form: Form) -> Settings:
    # The GX suites' candidate is hand-made for them, not a protected publication: the
    # disclosure audit has its own test below and tests/disclosure.
    settings = Settings(
        landing_dir=tmp_path / "landing", data_dir=tmp_path / "data", disclosure_audit=False
    )
    internal_db(settings, form)
    return settings


def plant_raw_submission(settings: Settings, **fields: str) -> None:
    row = submission("u1", 1, **fields)
    with duckdb.connect(str(settings.internal_db)) as connection:
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        connection.execute(
            f"INSERT INTO raw.fms_submissions ({columns}) VALUES ({marks})", list(row.values())
        )


def check(suite: str, name: str, severity: str, success: bool | None) -> CheckResult:
    error = "boom" if success is None else None
    return CheckResult(suite, name, severity, success, error or "ok", error)


def test_the_run_parameters_are_the_runs_k_its_date_and_the_facts(settings: Settings) -> None:
    assert run_parameters(settings, TODAY) == {
        "k": 5,
        "max_interview_date": date(2026, 3, 21),
        "fms_respondents": 50,
        "public_stories": 4,
        "registry_individuals": 200,
    }


def test_a_clean_refresh_runs_every_suite_where_it_belongs_and_passes(
    settings: Settings, tmp_path: Path
) -> None:
    plant_raw_submission(settings)  # a good one
    db = candidate(tmp_path / "candidate.duckdb")

    report = run_quality_gates(settings, db, TODAY)

    assert [v.suite for v in report.validations] == [
        *RAW_SUITES,
        *PUBLISHED_SUITES,
        "published_table:marts.dim_provinces",
        "published_table:marts.fmr_daily_flows",
        "published_table:marts.fms_corridor_monthly",
        "published_table:marts.story_coverage",
        "published_table:ops.file_loads",
    ]
    assert [(r.suite, r.check_name) for r in report.results if r.success is not True] == []
    assert not report.blocks_publication


def test_the_disclosure_audit_gates_the_candidate_as_a_critical_suite(
    settings: Settings, tmp_path: Path
) -> None:
    plant_raw_submission(settings)
    # LA-LM's 44 respondents less its published corridor cells (12 + 30) leave 2 for its two
    # hidden ones: 1 each
    stories = [("LA-LM", 2, 44), ("LA-VT", 0, 5), ("LA-PH", 1, None)]
    loads = [("fms", "export_2026-03-05.csv", "0" * 64, 80, None)]  # rows enough for them
    db = candidate(
        tmp_path / "candidate.duckdb", marts__story_coverage=stories, ops__file_loads=loads
    )

    report = run_quality_gates(replace(settings, disclosure_audit=True), db, TODAY)

    audit = {r.check_name: r for r in report.results if r.suite == "disclosure_audit"}
    assert set(audit) == {
        "no_suppressed_cell_exactly_disclosed",
        "every_suppressed_cell_upper_bound_at_least_k",
        "no_measure_over_a_suppressed_or_small_count",
        "published_numbers_consistent",
    }
    assert {r.severity for r in audit.values()} == {"critical"}
    assert audit["no_suppressed_cell_exactly_disclosed"].success is False
    assert audit["published_numbers_consistent"].success is True
    assert report.blocks_publication
    assert "; disclosure audit: " in report.summary()
    assert "exactly disclosed" in report.summary()


def test_a_planted_critical_failure_in_the_raw_layer_blocks_publication(
    settings: Settings, tmp_path: Path
) -> None:
    plant_raw_submission(settings, sex="unknown")

    report = run_quality_gates(settings, candidate(tmp_path / "candidate.duckdb"), TODAY)

    assert report.blocks_publication
    assert [(r.suite, r.check_name, r.observed) for r in report.critical_failures] == [
        # counts only: a raw value never leaves the internal results
        ("raw_fms_submissions", "expect_column_values_to_be_in_set(sex)", "1 unexpected (100%)")
    ]


def test_a_table_down_by_more_than_half_against_the_published_database_blocks(
    settings: Settings, tmp_path: Path
) -> None:
    settings.published_dir.mkdir(parents=True)
    with duckdb.connect(str(settings.published_db)) as published:
        published.execute("CREATE SCHEMA marts")
        published.execute("CREATE TABLE marts.fmr_daily_flows AS SELECT * FROM range(7)")

    report = run_quality_gates(settings, candidate(tmp_path / "candidate.duckdb"), TODAY)

    assert [(r.suite, r.check_name, r.observed) for r in report.critical_failures] == [
        (
            "published_table:marts.fmr_daily_flows",
            "expect_table_row_count_to_be_between(at least half the previous published rows)",
            "3",
        )
    ]


def test_row_counts_of_a_published_database_and_of_none(settings: Settings) -> None:
    assert row_counts(settings.published_db) == {}  # nothing published yet: nothing to compare

    settings.published_dir.mkdir(parents=True)
    with duckdb.connect(str(settings.published_db)) as published:
        published.execute("CREATE SCHEMA marts; CREATE SCHEMA ops; CREATE SCHEMA other")
        published.execute("CREATE TABLE marts.a AS SELECT * FROM range(7)")
        published.execute("CREATE TABLE ops.runs AS SELECT * FROM range(2)")
        published.execute("CREATE TABLE other.x AS SELECT * FROM range(2)")

    assert row_counts(settings.published_db) == {"marts.a": 7, "ops.runs": 2}


def test_a_check_that_could_not_be_evaluated_is_neither_passed_nor_failed() -> None:
    report = QualityReport(
        [
            check("s", "fine", "critical", True),
            check("s", "broken warning", "warning", None),
            check("s", "low", "warning", False),
        ]
    )

    assert [r.check_name for r in report.errors] == ["broken warning"]
    assert report.critical_failures == []
    assert [r.check_name for r in report.warnings] == ["low"]
    assert not report.blocks_publication
    assert report.summary() == (
        "1/3 checks passed, 0 critical failures, 1 warnings, 1 could not be evaluated"
    )
    # nobody verified what a critical check that raised was guarding: it blocks
    assert QualityReport([check("s", "broken", "critical", None)]).blocks_publication


def test_results_are_kept_per_run_as_gx_json(settings: Settings, tmp_path: Path) -> None:
    plant_raw_submission(settings, sex="unknown")
    report = run_quality_gates(settings, candidate(tmp_path / "candidate.duckdb"), TODAY)

    folder = keep_results(settings, "run-2", report)

    assert folder == settings.internal_dir / "quality" / "run-2"
    raw = json.loads((folder / "raw_fms_submissions.json").read_text())
    assert raw["suite_parameters"]["max_interview_date"] == "2026-03-21"
    assert len(raw["results"]) == len(report.validations[0].checks)
    assert (folder / "published_table__marts.story_coverage.json").is_file()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["blocks_publication"] is True
    assert len(summary["checks"]) == len(report.results)


def test_the_artifacts_summarise_what_failed_and_link_the_data_docs(tmp_path: Path) -> None:
    report = QualityReport(
        [
            check("raw", "fine", "critical", True),
            check("raw", "low", "warning", False),
            check("marts", "k", "critical", False),
            check("marts", "broken", "critical", None),
        ]
    )
    site = tmp_path / "data_docs"
    docs = DataDocs(
        index=site / "index.html",
        pages={"raw": site / "raw.html", "marts": site / "marts.html", "clean": site / "c.html"},
    )

    markdown = artifact_markdown("run-1", report, docs)
    table = artifact_table(report)

    assert f"[Data Docs: every suite run]({docs.index.as_uri()})" in markdown
    # the pages of the suite runs where something did not pass, not of the clean ones
    assert f"- [`raw`]({site.as_uri()}/raw.html)" in markdown
    assert f"- [`marts`]({site.as_uri()}/marts.html)" in markdown
    assert "c.html" not in markdown
    assert "**blocked publication**" in markdown
    assert "## Critical failures\n\n- `marts` k: ok" in markdown
    assert "## Could not be evaluated\n\n- `marts` broken: boom" in markdown
    assert [(row["check"], row["verdict"]) for row in table] == [
        ("k", "FAILED"),
        ("broken", "ERROR (not evaluated)"),
        ("low", "warning"),
    ]


def test_verdicts_are_recorded_in_ops_quality_results(tmp_path: Path) -> None:
    report = QualityReport([check("s", "a", "critical", True), check("s", "b", "warning", None)])

    with duckdb.connect(str(tmp_path / "db.duckdb")) as connection:
        record_quality_results(connection, "run-1", report)
        record_quality_results(connection, "run-2", QualityReport([]))
        rows = connection.execute("SELECT * FROM ops.quality_results ORDER BY ALL").fetchall()

    assert rows == [
        ("run-1", "s", "a", "critical", True, "ok"),
        ("run-1", "s", "b", "warning", None, "boom"),
    ]


def plant_loaded_submission(settings: Settings, uuid: str, loaded_at: str, **fields: str) -> None:
    row = submission(uuid, 1, loaded_at=loaded_at, **fields)
    with duckdb.connect(str(settings.internal_db)) as connection:
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        connection.execute(
            f"INSERT INTO raw.fms_submissions ({columns}) VALUES ({marks})", list(row.values())
        )


def gates_and_marks(
    settings: Settings, db: Path, run_id: str, today: date = TODAY
) -> QualityReport:
    report = run_quality_gates(settings, db, today)
    with duckdb.connect(str(settings.internal_db)) as connection:
        record_validated_marks(connection, run_id, report)
    return report


def raw_fms(report: QualityReport) -> dict[str, str]:
    (validation,) = [v for v in report.validations if v.suite == "raw_fms_submissions"]
    return {c.check_name: c.observed for c in validation.checks}


ETHNICITY = "expect_column_values_to_be_in_set(ethnicity)"  # a warning
SEX = "expect_column_values_to_be_in_set(sex)"  # critical
SINCE_TEN = " (rows with loaded_at after 2026-03-19 10:00:00)"


def test_a_run_that_passes_marks_its_raw_rows_and_the_next_checks_only_newer_rows(
    settings: Settings, tmp_path: Path
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")
    plant_loaded_submission(settings, "u1", "2026-03-19 10:00", ethnicity="martian")

    first = gates_and_marks(settings, db, "run1")

    assert not first.blocks_publication
    assert raw_fms(first)[ETHNICITY] == "1 unexpected (100%)"
    assert [(m.suite, m.max_interview_date, str(m.validated_through)) for m in first.marks] == [
        ("raw_fms_submissions", date(2026, 3, 21), "2026-03-19 10:00:00")
    ]

    plant_loaded_submission(settings, "u2", "2026-03-19 11:00")
    second = gates_and_marks(settings, db, "run2")

    assert raw_fms(second)[ETHNICITY] == "0 unexpected" + SINCE_TEN
    # uniqueness is not a row-level check: it still sees every row
    assert raw_fms(second)["expect_column_values_to_be_unique(_uuid)"] == "0 unexpected"


def test_a_blocked_run_leaves_the_mark_so_its_rows_are_checked_again(
    settings: Settings, tmp_path: Path
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")
    plant_loaded_submission(settings, "u1", "2026-03-19 10:00")
    gates_and_marks(settings, db, "run1")
    plant_loaded_submission(settings, "u2", "2026-03-19 11:00", sex="unknown")

    blocked = gates_and_marks(settings, db, "run2")
    again = gates_and_marks(settings, db, "run3")

    assert blocked.blocks_publication and again.blocks_publication
    assert raw_fms(again)[SEX] == "1 unexpected (100%)" + SINCE_TEN
    with duckdb.connect(str(settings.internal_db)) as connection:
        runs = connection.execute("SELECT run_id FROM ops.raw_validations").fetchall()
    assert runs == [("run1",)]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("full refresh", "a full refresh validates every row"),
        ("earlier date", "an earlier date bound could reject rows that passed before"),
        ("suite edited", "the expectations changed"),
        ("later date", "control: the next night, the rows that passed are not checked again"),
    ],
)
def test_every_row_is_checked_again_when_the_mark_may_not_hold(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, why: str
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")
    plant_loaded_submission(settings, "u1", "2026-03-19 10:00", ethnicity="martian")
    gates_and_marks(settings, db, "run1")
    today = {"earlier date": date(2026, 3, 10), "later date": date(2026, 3, 21)}.get(change, TODAY)
    if change == "suite edited":
        edited = tmp_path / "expectations"
        shutil.copytree(EXPECTATIONS_DIR, edited)
        suite = json.loads((edited / "raw_fms_submissions.json").read_text())
        suite["expectations"][0]["description"] = "edited"
        (edited / "raw_fms_submissions.json").write_text(json.dumps(suite))
        monkeypatch.setattr(flows.quality.gates, "EXPECTATIONS_DIR", edited)

    report = run_quality_gates(replace(settings, full_refresh=change == "full refresh"), db, today)

    expected = "0 unexpected" + SINCE_TEN if change == "later date" else "1 unexpected (100%)"
    assert raw_fms(report)[ETHNICITY] == expected, why


def test_a_run_on_an_empty_raw_table_passes_and_marks_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    report = gates_and_marks(settings, candidate(tmp_path / "candidate.duckdb"), "run1")

    assert report.marks == [] and not report.blocks_publication
    with duckdb.connect(str(settings.internal_db)) as connection:
        assert connection.execute("SELECT count(*) FROM ops.raw_validations").fetchone() == (0,)


def test_a_suite_with_a_check_that_could_not_be_evaluated_keeps_its_mark(
    settings: Settings, tmp_path: Path
) -> None:
    plant_loaded_submission(settings, "u1", "2026-03-19 10:00")
    report = run_quality_gates(settings, candidate(tmp_path / "candidate.duckdb"), TODAY)
    unevaluated = check("raw_fms_submissions", "a warning", "warning", None)
    with_error = replace(report, results=[*report.results, unevaluated])
    assert not with_error.blocks_publication and with_error.marks

    with duckdb.connect(str(settings.internal_db)) as connection:
        record_validated_marks(connection, "run1", with_error)
        recorded = connection.execute("SELECT count(*) FROM ops.raw_validations").fetchone()
    assert recorded == (0,)
