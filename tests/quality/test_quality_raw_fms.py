"""Specification of the raw FMS suite, generated from the XLSForm by `fmw expectations generate`:
each check catches the bad raw value it exists for, and only that one."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.cli import main
from flows.config import EXPECTATIONS_DIR
from flows.form.expressions import UnsupportedExpression
from flows.form.xlsform import Form
from flows.quality.gx_duckdb import CheckResult
from flows.quality.suite_generation import (
    MART_FIELDS,
    SUITE_NAME,
    generate_raw_fms_suite,
    render_suite,
)
from flows.sql import quote_identifier
from flows.warehouse.schema import ensure_schema
from tests.helpers.dbt_fixtures import submission
from tests.helpers.suites import run_suite

PARAMETERS = {"max_interview_date": date(2026, 12, 31)}
GOOD_ROWS = [
    submission("u1", 1),
    submission("u2", 2, sex="female", transport="bus", cost_paid_by="savings loan", debt_lak="9"),
    submission("u3", 3, consent="no"),  # a refusal: every answer after consent is NULL
    submission(
        "u4",
        4,
        direction="inflow",
        origin_adm1="LA-VT",
        origin_adm2=None,  # only asked in LA-PH and LA-LM
        dest_country="other",
        deprecated_id="uuid:u0",  # an edit of u0
        _validation_status="validation_status_not_approved",
    ),
]


def raw_db(path: Path, form: Form, rows: list[dict[str, Any]]) -> Path:
    """A raw.fms_submissions as ingest creates it, holding `rows`, written around ingest."""
    with duckdb.connect(str(path)) as connection:
        ensure_schema(connection, form)
        for row in rows:
            columns = ", ".join(quote_identifier(column) for column in row)
            marks = ", ".join("?" for _ in row)
            connection.execute(
                f"INSERT INTO raw.fms_submissions ({columns}) VALUES ({marks})", list(row.values())
            )
    return path


def with_row(index: int, **changes: Any) -> list[dict[str, Any]]:
    rows = [dict(row) for row in GOOD_ROWS]
    rows[index].update(changes)
    return rows


def not_passed(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check_name: r for r in results if r.success is not True}


def test_the_committed_suite_is_exactly_what_the_generator_makes_from_the_form(
    form: Form,
) -> None:
    committed = (EXPECTATIONS_DIR / f"{SUITE_NAME}.json").read_text(encoding="utf-8")

    assert committed == render_suite(generate_raw_fms_suite(form)), (
        "expectations/raw_fms_submissions.json has drifted from the XLSForm:"
        " run `fmw expectations generate` and commit the result"
    )


def test_fmw_expectations_generate_writes_the_suite_and_check_reports_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["expectations", "generate", "--out", str(tmp_path)]) == 0
    written = tmp_path / f"{SUITE_NAME}.json"
    assert written.read_text() == (EXPECTATIONS_DIR / f"{SUITE_NAME}.json").read_text()
    assert main(["expectations", "generate", "--out", str(tmp_path), "--check"]) == 0

    written.write_text(written.read_text().replace('"LA-LM"', '"LA-XX"'))

    assert main(["expectations", "generate", "--out", str(tmp_path), "--check"]) == 1
    assert "fmw expectations generate" in capsys.readouterr().err


def test_good_rows_pass_every_check_refusals_and_skipped_questions_included(
    tmp_path: Path, form: Form
) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, GOOD_ROWS)

    results = run_suite(db, SUITE_NAME, EXPECTATIONS_DIR, PARAMETERS)

    assert len(results) == len(generate_raw_fms_suite(form)["expectations"])
    assert not_passed(results) == {}


@pytest.mark.parametrize(
    ("changes", "failing_check", "severity"),
    [
        ({"sex": "unknown"}, "expect_column_values_to_be_in_set(sex)", "critical"),
        ({"dest_country": "FRA"}, "expect_column_values_to_be_in_set(dest_country)", "critical"),
        # origin_adm1's choice_filter (country = 'LAO') narrows the list to Lao provinces
        (
            {"origin_adm1": "CN-YN", "origin_adm2": None},
            "expect_column_values_to_be_in_set(origin_adm1)",
            "critical",
        ),
        ({"education": "phd"}, "expect_column_values_to_be_in_set(education)", "warning"),
        ({"sex": None}, "expect_column_values_to_not_be_null(sex)", "critical"),
        ({"reason": None}, "expect_column_values_to_not_be_null(reason)", "warning"),
        ({"transport": "bus rocket"}, "expect_column_values_to_match_regex(transport)", "warning"),
        ({"transport": "bus  train"}, "expect_column_values_to_match_regex(transport)", "warning"),
        (
            {"age": "200"},
            "unexpected_rows_expectation(age: integer . >= 14 and . <= 80)",
            "warning",
        ),
        (
            {"age": "27.5"},
            "unexpected_rows_expectation(age: integer . >= 14 and . <= 80)",
            "warning",
        ),
        (
            {"expected_income": "-1"},
            "unexpected_rows_expectation(expected_income: decimal . >= 0)",
            "warning",
        ),
        (
            {"origin_adm2": "LA0201"},  # a district of LA-PH, answered for LA-LM
            "expect_column_pair_values_to_be_in_set(origin_adm1, origin_adm2)",
            "warning",
        ),
        (
            {"today": "2014-12-31"},
            "unexpected_rows_expectation(today: date from 2015-01-01 to max_interview_date)",
            "critical",
        ),
        (
            {"today": "2027-01-01"},
            "unexpected_rows_expectation(today: date from 2015-01-01 to max_interview_date)",
            "critical",
        ),
        (
            {"today": "10/03/2026"},
            "unexpected_rows_expectation(today: date from 2015-01-01 to max_interview_date)",
            "critical",
        ),
        (
            {"_validation_status": "approved"},
            "expect_column_values_to_be_in_set(_validation_status)",
            "critical",
        ),
        ({"deprecated_id": "u0"}, "expect_column_values_to_match_regex(deprecated_id)", "critical"),
        ({"_uuid": None}, "expect_column_values_to_not_be_null(_uuid)", "critical"),
    ],
)
def test_a_planted_bad_value_fails_its_check_and_only_its_check(
    tmp_path: Path, form: Form, changes: dict[str, Any], failing_check: str, severity: str
) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, with_row(0, **changes))

    failed = not_passed(run_suite(db, SUITE_NAME, EXPECTATIONS_DIR, PARAMETERS))

    assert list(failed) == [failing_check]
    assert (failed[failing_check].success, failed[failing_check].severity) == (False, severity)


def test_a_required_answer_may_be_missing_where_the_question_was_not_relevant(
    tmp_path: Path, form: Form
) -> None:
    # sex is required, but only asked when consent = 'yes': a refusal has none
    db = raw_db(tmp_path / "internal.duckdb", form, with_row(2, sex=None, age=None))

    assert not_passed(run_suite(db, SUITE_NAME, EXPECTATIONS_DIR, PARAMETERS)) == {}


def test_a_submission_loaded_twice_fails_the_uuid_uniqueness_check(
    tmp_path: Path, form: Form
) -> None:
    db = raw_db(tmp_path / "internal.duckdb", form, [*GOOD_ROWS, GOOD_ROWS[0]])

    failed = not_passed(run_suite(db, SUITE_NAME, EXPECTATIONS_DIR, PARAMETERS))

    assert list(failed) == ["expect_column_values_to_be_unique(_uuid)"]
    assert failed["expect_column_values_to_be_unique(_uuid)"].severity == "critical"


def test_every_check_gives_a_verdict_on_duckdb_not_an_exception(tmp_path: Path, form: Form) -> None:
    # Every value bad at once: each check must still answer with a verdict.
    bad = submission(
        "u9", 9, sex="x", age="old", today="soon", transport="rocket", origin_adm2="LA0201"
    )
    db = raw_db(tmp_path / "internal.duckdb", form, [*GOOD_ROWS, bad])

    results = run_suite(db, SUITE_NAME, EXPECTATIONS_DIR, PARAMETERS)

    assert [(r.check_name, r.error) for r in results if r.success is None] == []


def test_checks_are_critical_exactly_where_the_field_feeds_a_published_mart(form: Form) -> None:
    suite = generate_raw_fms_suite(form)

    critical_columns = {
        e["kwargs"].get("column_B") or e["kwargs"].get("column") or e["meta"]["check"].split(":")[0]
        for e in suite["expectations"]
        if e["meta"]["severity"] == "critical"
    }

    assert critical_columns == MART_FIELDS
    assert all(e["severity"] == e["meta"]["severity"] for e in suite["expectations"])


def test_the_generated_suite_is_valid_json_with_its_table_and_form_version(form: Form) -> None:
    suite = json.loads(render_suite(generate_raw_fms_suite(form)))

    assert (suite["name"], suite["table"]) == (SUITE_NAME, "raw.fms_submissions")
    assert suite["meta"]["form"] == f"{form.form_id} {form.version}"


def test_a_form_rule_the_generator_cannot_express_is_refused_not_skipped(form: Form) -> None:
    age = form.field("age")
    odd_relevance = dataclasses.replace(age, relevant=("selected(${cost_paid_by}, 'loan')",))
    odd_constraint = dataclasses.replace(age, constraint=". >= 14 or . = 0")

    for field in (odd_relevance, odd_constraint):
        changed = dataclasses.replace(
            form, fields=tuple(field if f.name == "age" else f for f in form.fields)
        )
        with pytest.raises(UnsupportedExpression):
            generate_raw_fms_suite(changed)
