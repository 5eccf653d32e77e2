"""Specification of the hand-written raw suites for registry tallies and stories: each check
catches the bad raw value it exists for, and only that one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.config import EXPECTATIONS_DIR
from flows.form.xlsform import Form
from flows.quality.gx_duckdb import CheckResult
from flows.sql import quote_identifier
from flows.warehouse.schema import ensure_schema
from tests.helpers.suites import run_suite

TALLY = {
    "date": "2026-03-04",
    "fmp": "LAO_FMP_001",
    "direction": "outflow",
    "sex": "female",
    "age_group": "adults",
    "nationality": "LAO",
    "transport": "bus",
    "count": "12",
    "observer_id": "OBS1",
    "hours_observed": "8.5",
}
STORY = {
    "id": "lao-2026-keo",
    "title": "Keo goes to Udon",
    "published": "2026-02-01",
    "language": "lo",
    "consent": "public",
    "pseudonym": "Keo",
    "residence_place": "Nateuy, Luang Namtha",
    "residence_adm1_code": "LA-LN",
    "residence_adm2_code": "LA0301",
    "residence_match_quality": "alias",
    "origin_place": "Samphanxay",
    "origin_adm1_code": None,
    "origin_match_quality": "unmatched",
    "destination_country": "THA",
}


def raw_db(path: Path, form: Form, table: str, rows: list[dict[str, Any]]) -> Path:
    with duckdb.connect(str(path)) as connection:
        ensure_schema(connection, form)
        for row in rows:
            columns = ", ".join(quote_identifier(column) for column in row)
            marks = ", ".join("?" for _ in row)
            connection.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values())
            )
    return path


def not_passed(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check_name: r for r in results if r.success is not True}


def tallies(**changes: Any) -> list[dict[str, Any]]:
    return [
        TALLY,
        {**TALLY, "sex": "male", "count": "0", "hours_observed": None},
        {**TALLY, **changes},
    ]


def stories(**changes: Any) -> list[dict[str, Any]]:
    internal = {**STORY, "id": "lao-2026-noy", "consent": "internal", "residence_place": None}
    unmatched = {**STORY, "id": "lao-2025-xia", "residence_adm1_code": None}
    unmatched.update(residence_adm2_code=None, residence_match_quality="unmatched")
    return [STORY, internal, unmatched, {**STORY, "id": "lao-2026-new", **changes}]


def test_good_tallies_pass_every_check(tmp_path: Path, form: Form) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, "raw.fmr_tallies", tallies())

    results = run_suite(db, "raw_fmr_tallies", EXPECTATIONS_DIR)

    assert [(r.check_name, r.observed) for r in results if r.success is not True] == []


@pytest.mark.parametrize(
    ("changes", "failing_check", "severity"),
    [
        ({"count": "-3"}, "expect_column_values_to_match_regex(count)", "critical"),
        ({"count": "3.5"}, "expect_column_values_to_match_regex(count)", "critical"),
        ({"count": None}, "expect_column_values_to_not_be_null(count)", "critical"),
        ({"fmp": "BOTEN"}, "expect_column_values_to_match_regex(fmp)", "critical"),
        ({"direction": "both"}, "expect_column_values_to_be_in_set(direction)", "critical"),
        ({"date": "2026-02-30"}, "unexpected_rows_expectation(date: YYYY-MM-DD)", "critical"),
        ({"sex": "f"}, "expect_column_values_to_be_in_set(sex)", "warning"),
        ({"age_group": "teens"}, "expect_column_values_to_be_in_set(age_group)", "warning"),
        ({"nationality": "Lao"}, "expect_column_values_to_match_regex(nationality)", "warning"),
        (
            {"hours_observed": "25"},
            "unexpected_rows_expectation(hours_observed: 0 to 24)",
            "warning",
        ),
    ],
)
def test_a_planted_bad_tally_fails_its_check_and_only_its_check(
    tmp_path: Path, form: Form, changes: dict[str, Any], failing_check: str, severity: str
) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, "raw.fmr_tallies", tallies(**changes))

    failed = not_passed(run_suite(db, "raw_fmr_tallies", EXPECTATIONS_DIR))

    assert list(failed) == [failing_check]
    assert failed[failing_check].severity == severity


def test_good_stories_pass_every_check_internal_and_unmatched_included(
    tmp_path: Path, form: Form
) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, "raw.stories", stories())

    results = run_suite(db, "raw_stories", EXPECTATIONS_DIR)

    assert [(r.check_name, r.observed) for r in results if r.success is not True] == []


@pytest.mark.parametrize(
    ("changes", "failing_check", "severity"),
    [
        ({"consent": "team-only"}, "expect_column_values_to_be_in_set(consent)", "critical"),
        ({"consent": None}, "expect_column_values_to_not_be_null(consent)", "critical"),
        ({"id": "lao-2026-keo"}, "expect_column_values_to_be_unique(id)", "critical"),
        (
            {"residence_match_quality": "guessed"},
            "expect_column_values_to_be_in_set(residence_match_quality)",
            "critical",
        ),
        (
            {"residence_match_quality": "unmatched"},  # but a province code was filled in
            "unexpected_rows_expectation(residence: coded only when matched)",
            "critical",
        ),
        (
            {"residence_adm1_code": "Luang Namtha"},
            "expect_column_values_to_match_regex(residence_adm1_code)",
            "critical",
        ),
        ({"language": "English"}, "expect_column_values_to_match_regex(language)", "warning"),
        ({"published": "Feb 2026"}, "expect_column_values_to_match_regex(published)", "warning"),
    ],
)
def test_a_planted_bad_story_fails_its_check_and_only_its_check(
    tmp_path: Path, form: Form, changes: dict[str, Any], failing_check: str, severity: str
) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, "raw.stories", stories(**changes))

    failed = not_passed(run_suite(db, "raw_stories", EXPECTATIONS_DIR))

    assert list(failed) == [failing_check]
    assert failed[failing_check].severity == severity


@pytest.mark.parametrize("suite", ["raw_fmr_tallies", "raw_stories"])
def test_every_check_gives_a_verdict_on_an_empty_table(
    tmp_path: Path, form: Form, suite: str
) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, "raw.stories", [])

    results = run_suite(db, suite, EXPECTATIONS_DIR)

    assert [(r.check_name, r.error) for r in results if r.success is not True] == []
