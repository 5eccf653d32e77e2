"""Specification of the published-database suites: the contract tables' own suites, and the
suite every published table gets (row count against the previous publication, direct
identifiers, k). Each catches the failure it exists for, on a tiny candidate built with SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.config import EXPECTATIONS_DIR
from flows.quality.gates import EVERY_TABLE_SUITE, min_row_count
from flows.quality.gx_duckdb import CheckResult
from tests.helpers.suites import run_suite

SHA = "a2055550142b0205555014201234567890abcdef" * 2  # digit runs inside a hash are no phone

# Each table: its columns, and rows as the dbt marts publish them at k = 5.
TABLES: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
    "marts.fms_corridor_monthly": (
        "month DATE, direction VARCHAR, origin_adm1_code VARCHAR, dest_country_iso3 VARCHAR,"
        " respondents BIGINT, female_respondents BIGINT, suppressed BOOLEAN",
        [
            (date(2026, 3, 1), "outflow", "LA-LM", "THA", 12, 5, False),
            (date(2026, 3, 1), "outflow", "LA-VT", "THA", 5, None, False),
            (date(2026, 3, 1), "inflow", "LA-LM", "THA", None, None, True),
            (date(2026, 4, 1), "outflow", "LA-LM", "XXX", 30, 10, False),
            (date(2026, 4, 1), "outflow", "LA-LM", "KOR", None, None, True),
        ],
    ),
    "marts.fmr_daily_flows": (
        "date DATE, fmp_code VARCHAR, direction VARCHAR, individuals BIGINT",
        [
            (date(2026, 3, 4), "LAO_FMP_001", "outflow", 120),
            (date(2026, 3, 4), "LAO_FMP_001", "inflow", 80),
            (date(2026, 3, 5), "LAO_FMP_005", "outflow", 0),
        ],
    ),
    "marts.story_coverage": (
        "adm1_code VARCHAR, public_stories BIGINT, respondents BIGINT",
        [("LA-LM", 2, 42), ("LA-VT", 0, 5), ("LA-PH", 1, None)],
    ),
    "marts.dim_provinces": (
        "adm1_code VARCHAR, name_en VARCHAR, name_lo VARCHAR",
        [("LA-LM", "Louang Namtha", None), ("LA-VT", "Vientiane Prefecture", None)],
    ),
    "ops.file_loads": (
        "source VARCHAR, file_name VARCHAR, sha256 VARCHAR, rows_read BIGINT, reason VARCHAR",
        [("fms", "export_2026-03-05.csv", SHA, 31, None)],
    ),
}
# The facts behind those rows: 47 corridor respondents published + 2 suppressed cells (1 to 4
# each); 3 public stories placed out of 4 held; 200 people tallied.
PARAMETERS = {"k": 5, "fms_respondents": 50, "public_stories": 4, "registry_individuals": 200}


def candidate(path: Path, **replaced: list[tuple[Any, ...]]) -> Path:
    """The candidate database; `marts__story_coverage=[...]` replaces that table's rows."""
    with duckdb.connect(str(path)) as connection:
        for table, (columns, rows) in TABLES.items():
            schema = table.split(".")[0]
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            connection.execute(f"CREATE TABLE {table} ({columns})")
            rows = replaced.get(table.replace(".", "__"), rows)
            if rows:
                marks = ", ".join("?" for _ in columns.split(","))
                connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    return path


def rows_of(table: str, index: int, **changes: Any) -> list[tuple[Any, ...]]:
    columns, rows = TABLES[table]
    names = [column.split()[0] for column in columns.split(",")]
    changed = list(rows)
    changed[index] = tuple(changes.get(n, v) for n, v in zip(names, rows[index], strict=True))
    return changed


def not_passed(results: list[CheckResult]) -> set[str]:
    return {r.check_name for r in results if r.success is not True}


def every_table_checks(db: Path, table: str, min_rows: int = 0) -> list[CheckResult]:
    parameters = {**PARAMETERS, "min_row_count": min_rows}
    return run_suite(db, EVERY_TABLE_SUITE, EXPECTATIONS_DIR, parameters, table=table)


@pytest.mark.parametrize(
    "suite", ["marts_fms_corridor_monthly", "marts_fmr_daily_flows", "marts_story_coverage"]
)
def test_a_good_candidate_passes_every_check_of_each_contract_table_suite(
    tmp_path: Path, suite: str
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")

    results = run_suite(db, suite, EXPECTATIONS_DIR, PARAMETERS)

    assert [(r.check_name, r.observed, r.error) for r in results if r.success is not True] == []


@pytest.mark.parametrize("table", list(TABLES))
def test_a_good_candidate_passes_the_checks_every_published_table_gets(
    tmp_path: Path, table: str
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")

    results = every_table_checks(db, table, min_rows=1)

    assert [(r.check_name, r.observed, r.error) for r in results if r.success is not True] == []


CORRIDOR = "marts.fms_corridor_monthly"


@pytest.mark.parametrize(
    ("row", "changes", "facts", "failing"),
    [
        (0, {"month": None}, 50, {"expect_column_values_to_not_be_null(month)"}),
        (0, {"direction": "sideways"}, 50, {"expect_column_values_to_be_in_set(direction)"}),
        (
            0,
            {"origin_adm1_code": "LA-1"},
            50,
            {"expect_column_values_to_match_regex(origin_adm1_code)"},
        ),
        (
            0,
            {"dest_country_iso3": "tha"},
            50,
            {"expect_column_values_to_match_regex(dest_country_iso3)"},
        ),
        # a published cell below k
        (1, {"respondents": 4}, 50, {"expect_column_values_to_be_between(respondents >= k)"}),
        (
            0,
            {"female_respondents": 3},
            50,
            {"expect_column_values_to_be_between(female_respondents >= k)"},
        ),
        (
            0,
            {"female_respondents": 9},  # 12 - 9 = 3 men, derivable by subtraction
            50,
            {"unexpected_rows_expectation(respondents - female_respondents >= k)"},
        ),
        (
            0,
            {"female_respondents": 13},
            50,
            {
                "expect_column_pair_values_a_to_be_greater_than_b(respondents, female_respondents)",
                "unexpected_rows_expectation(respondents - female_respondents >= k)",
            },
        ),
        # a suppressed cell that still shows its count; a published cell without one
        (
            2,
            {"respondents": 7},
            57,
            {"expect_column_values_to_be_null(respondents where suppressed)"},
        ),
        (
            2,
            {"female_respondents": 5},
            50,
            {"expect_column_values_to_be_null(female_respondents where suppressed)"},
        ),
        (
            3,
            {"respondents": None, "female_respondents": None},
            20,
            {"expect_column_values_to_not_be_null(respondents where not suppressed)"},
        ),
        (0, {"suppressed": None}, 50, {"expect_column_values_to_not_be_null(suppressed)"}),
    ],
)
def test_a_planted_corridor_failure_fails_its_check(
    tmp_path: Path, row: int, changes: dict[str, Any], facts: int, failing: set[str]
) -> None:
    db = candidate(
        tmp_path / "candidate.duckdb", marts__fms_corridor_monthly=rows_of(CORRIDOR, row, **changes)
    )

    results = run_suite(
        db, "marts_fms_corridor_monthly", EXPECTATIONS_DIR, {**PARAMETERS, "fms_respondents": facts}
    )

    assert not_passed(results) == failing
    assert all(r.severity == "critical" for r in results if r.check_name in failing)


def test_a_duplicated_corridor_cell_fails_the_key_check(tmp_path: Path) -> None:
    rows = TABLES[CORRIDOR][1]
    db = candidate(tmp_path / "candidate.duckdb", marts__fms_corridor_monthly=[*rows, rows[0]])

    results = run_suite(
        db, "marts_fms_corridor_monthly", EXPECTATIONS_DIR, {**PARAMETERS, "fms_respondents": 62}
    )

    assert not_passed(results) == {
        "expect_compound_columns_to_be_unique"
        "(month, direction, origin_adm1_code, dest_country_iso3)"
    }


@pytest.mark.parametrize(
    ("facts", "reconciles"),
    # 47 published + 2 withheld cells of at least 1 each; no upper bound: the protection pass
    # may withhold a cell of k or more as a complement of another
    [(49, True), (55, True), (56, True), (48, False), (46, False)],
)
def test_corridor_totals_reconcile_with_the_resolved_submissions(
    tmp_path: Path, facts: int, reconciles: bool
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")

    results = run_suite(
        db, "marts_fms_corridor_monthly", EXPECTATIONS_DIR, {**PARAMETERS, "fms_respondents": facts}
    )

    expected = (
        set()
        if reconciles
        else {"unexpected_rows_expectation(respondents reconcile with the resolved submissions)"}
    )
    assert not_passed(results) == expected


def test_k_is_the_runs_not_a_constant(tmp_path: Path) -> None:
    db = candidate(tmp_path / "candidate.duckdb")

    at_6 = run_suite(db, "marts_fms_corridor_monthly", EXPECTATIONS_DIR, {**PARAMETERS, "k": 6})

    # the cell of 5 respondents and the 5 women of another are below k = 6
    assert not_passed(at_6) == {
        "expect_column_values_to_be_between(respondents >= k)",
        "expect_column_values_to_be_between(female_respondents >= k)",
    }


@pytest.mark.parametrize(
    ("rows", "registry", "failing"),
    [
        (
            rows_of("marts.fmr_daily_flows", 2, individuals=-5),
            195,
            {"expect_column_values_to_be_between(individuals)"},
        ),
        (
            rows_of("marts.fmr_daily_flows", 2, fmp_code="BOTEN"),
            200,
            {"expect_column_values_to_match_regex(fmp_code)"},
        ),
        (
            rows_of("marts.fmr_daily_flows", 2, date=date(2026, 3, 4), fmp_code="LAO_FMP_001"),
            200,
            {"expect_compound_columns_to_be_unique(date, fmp_code, direction)"},
        ),
        (
            TABLES["marts.fmr_daily_flows"][1],
            230,
            {"unexpected_rows_expectation(individuals reconcile with the tallies)"},
        ),
    ],
)
def test_a_planted_daily_flows_failure_fails_its_check(
    tmp_path: Path, rows: list[tuple[Any, ...]], registry: int, failing: set[str]
) -> None:
    db = candidate(tmp_path / "candidate.duckdb", marts__fmr_daily_flows=rows)

    results = run_suite(
        db,
        "marts_fmr_daily_flows",
        EXPECTATIONS_DIR,
        {**PARAMETERS, "registry_individuals": registry},
    )

    assert not_passed(results) == failing


@pytest.mark.parametrize(
    ("rows", "parameters", "failing"),
    [
        (
            rows_of("marts.story_coverage", 1, respondents=3),
            {"fms_respondents": 46},
            {"expect_column_values_to_be_between(respondents >= k)"},
        ),
        (
            rows_of("marts.story_coverage", 1, public_stories=3),  # 6 stories, 4 are public
            {},
            {"unexpected_rows_expectation(public_stories within the public stories held)"},
        ),
        (
            TABLES["marts.story_coverage"][1],
            {"fms_respondents": 46},  # fewer than the 47 published
            {"unexpected_rows_expectation(respondents reconcile with the resolved submissions)"},
        ),
        (
            rows_of("marts.story_coverage", 0, adm1_code="LA-VT"),
            {},
            {"expect_column_values_to_be_unique(adm1_code)"},
        ),
    ],
)
def test_a_planted_story_coverage_failure_fails_its_check(
    tmp_path: Path, rows: list[tuple[Any, ...]], parameters: dict[str, int], failing: set[str]
) -> None:
    db = candidate(tmp_path / "candidate.duckdb", marts__story_coverage=rows)

    results = run_suite(db, "marts_story_coverage", EXPECTATIONS_DIR, {**PARAMETERS, **parameters})

    assert not_passed(results) == failing


NAME_CHECK = "unexpected_rows_expectation(no column named like a direct identifier)"
CONTENT_CHECK = "unexpected_rows_expectation(no phone number or GPS position in text)"
K_CHECK = "unexpected_rows_expectation(respondent counts >= k)"
ROW_COUNT_CHECK = "expect_table_row_count_to_be_between(at least half the previous published rows)"


@pytest.mark.parametrize("column", ["phone", "respondent_name", "gps_latitude", "village", "name"])
def test_a_published_column_named_like_a_direct_identifier_fails(
    tmp_path: Path, column: str
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")
    with duckdb.connect(str(db)) as connection:
        connection.execute(f"ALTER TABLE marts.story_coverage ADD COLUMN {column} VARCHAR")

    results = every_table_checks(db, "marts.story_coverage")

    assert not_passed(results) == {NAME_CHECK}
    assert [r.severity for r in results if r.check_name == NAME_CHECK] == ["critical"]


@pytest.mark.parametrize(
    "text",
    ["call +856 20 5555 0142", "020 5555 0142", "02055550142", "at 21.1801, 101.3402"],
)
def test_a_phone_number_or_gps_position_in_published_text_fails(tmp_path: Path, text: str) -> None:
    db = candidate(tmp_path / "candidate.duckdb", ops__file_loads=[("fms", "x.csv", SHA, 1, text)])

    assert not_passed(every_table_checks(db, "ops.file_loads")) == {CONTENT_CHECK}


def test_respondent_counts_below_k_fail_in_a_table_no_suite_names(tmp_path: Path) -> None:
    db = candidate(tmp_path / "candidate.duckdb")
    with duckdb.connect(str(db)) as connection:
        connection.execute(
            "CREATE TABLE marts.new_profile AS SELECT * FROM (VALUES ('LA-LM', 12, 7), "
            "('LA-VT', NULL, 3)) AS t(adm1_code, area_respondents, respondents)"
        )

    assert not_passed(every_table_checks(db, "marts.new_profile")) == {K_CHECK}


@pytest.mark.parametrize(("previous", "fails"), [(5, False), (6, False), (7, True), (10, True)])
def test_a_table_down_by_more_than_half_against_the_previous_publication_fails(
    tmp_path: Path, previous: int, fails: bool
) -> None:
    db = candidate(tmp_path / "candidate.duckdb")  # 3 rows of daily flows

    results = every_table_checks(db, "marts.fmr_daily_flows", min_row_count(previous))

    assert not_passed(results) == ({ROW_COUNT_CHECK} if fails else set())


def test_min_row_count_is_half_the_previous_rows_rounded_up() -> None:
    assert [min_row_count(n) for n in (0, 1, 2, 3, 10, 11)] == [0, 1, 1, 2, 5, 6]
