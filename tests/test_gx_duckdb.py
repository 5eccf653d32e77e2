"""Specification of flows.gx_duckdb: GX expectation suites run inside a read-only DuckDB file."""

from __future__ import annotations

import json
import re
import socket
from datetime import date
from pathlib import Path

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pytest

from flows.gx_duckdb import CheckResult, load_suite, run_suite

SUITES = Path(__file__).resolve().parents[1] / "expectations"
SUITE = "marts_fms_corridor_monthly"
COLUMNS = (
    "month DATE, direction VARCHAR, origin_adm1_code VARCHAR, dest_country_iso3 VARCHAR,"
    " respondents BIGINT, female_respondents BIGINT, suppressed BOOLEAN"
)
# Cells as the dbt mart publishes them: under k=5 respondents the counts are NULL and suppressed
# is true; female_respondents is NULL unless it and the remainder are both at least 5.
GOOD_ROWS = [
    (date(2026, 3, 1), "outflow", "LA-LM", "THA", 12, 5, False),
    (date(2026, 3, 1), "outflow", "LA-VT", "THA", 5, None, False),
    (date(2026, 3, 1), "inflow", "LA-LM", "THA", None, None, True),
    (date(2026, 4, 1), "outflow", "LA-LM", "XXX", 30, 10, False),
    (date(2026, 4, 1), "outflow", "LA-LM", "KOR", None, None, True),
]


def make_db(path: Path, rows: list[tuple], table: str = "marts.fms_corridor_monthly") -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.rpartition('.')[0] or 'main'}")
        con.execute(f"CREATE TABLE {table} ({COLUMNS})")
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return path


def write_suite(directory: Path, name: str, table: str, expectations: list) -> Path:
    """Write a suite the way the committed ones are made: to_json_dict() plus "table"."""
    suite_json = gx.ExpectationSuite(name, expectations=expectations).to_json_dict()
    (directory / f"{name}.json").write_text(json.dumps({**suite_json, "table": table}))
    return directory


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.check_name: result for result in results}


def replace_row(index: int, **changes: object) -> list[tuple]:
    names = [column.split()[0] for column in COLUMNS.split(",")]
    rows = list(GOOD_ROWS)
    rows[index] = tuple(
        changes.get(name, value) for name, value in zip(names, rows[index], strict=True)
    )
    return rows


def test_a_good_table_passes_every_check_of_the_committed_suite(tmp_path: Path) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)

    results = run_suite(db, SUITE, SUITES)

    committed = json.loads((SUITES / f"{SUITE}.json").read_text())
    assert len(results) == len(committed["expectations"])
    assert len({r.check_name for r in results}) == len(results)
    assert [(r.check_name, r.success, r.error) for r in results if r.success is not True] == []


def test_every_committed_expectation_gives_a_verdict_on_duckdb_not_an_exception(
    tmp_path: Path,
) -> None:
    # Guards the GX-on-DuckDB workarounds: without them GX reports exceptions, not verdicts.
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)

    results = run_suite(db, SUITE, SUITES)

    assert [(r.check_name, r.error) for r in results if r.error is not None] == []
    assert all(r.success is not None for r in results)


@pytest.mark.parametrize(
    ("rows", "failing_check"),
    [
        (replace_row(0, month=None), "expect_column_values_to_not_be_null(month)"),
        (replace_row(0, direction="sideways"), "expect_column_values_to_be_in_set(direction)"),
        (
            replace_row(0, origin_adm1_code="LA-1"),
            "expect_column_values_to_match_regex(origin_adm1_code)",
        ),
        (
            replace_row(0, dest_country_iso3="tha"),
            "expect_column_values_to_match_regex(dest_country_iso3)",
        ),
        (
            [*GOOD_ROWS, GOOD_ROWS[0]],
            "expect_compound_columns_to_be_unique"
            "(month, direction, origin_adm1_code, dest_country_iso3)",
        ),
        (
            replace_row(0, respondents=4, female_respondents=2),
            "expect_column_values_to_be_between(respondents)",
        ),
        (
            replace_row(0, respondents=12, female_respondents=13),
            "expect_column_pair_values_a_to_be_greater_than_b(respondents, female_respondents)",
        ),
        (
            replace_row(0, female_respondents=-1),
            "expect_column_values_to_be_between(female_respondents)",
        ),
    ],
)
def test_a_planted_bad_value_fails_its_check_and_only_its_check(
    tmp_path: Path, rows: list[tuple], failing_check: str
) -> None:
    db = make_db(tmp_path / "w.duckdb", rows)

    results = by_name(run_suite(db, SUITE, SUITES))

    assert results[failing_check].success is False
    assert re.fullmatch(r"[1-9]\d* unexpected \(.*%\), e\.g\. .+", results[failing_check].observed)
    assert {name for name, r in results.items() if r.success is not True} == {failing_check}


def test_an_empty_table_fails_only_the_row_count_check_which_is_a_warning(tmp_path: Path) -> None:
    db = make_db(tmp_path / "w.duckdb", [])

    results = by_name(run_suite(db, SUITE, SUITES))

    row_count = results["expect_table_row_count_to_be_between"]
    assert (row_count.success, row_count.severity, row_count.observed) == (False, "warning", "0")
    assert [name for name, r in results.items() if r.success is not True] == [
        "expect_table_row_count_to_be_between"
    ]


def test_regex_expectations_give_verdicts_on_duckdb_and_search_like_gx_on_pandas(
    tmp_path: Path,
) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS, table="corridors")  # in the main schema
    write_suite(
        tmp_path,
        "regexes",
        "corridors",
        [
            gxe.ExpectColumnValuesToMatchRegex(column="origin_adm1_code", regex="^LA-[A-Z]{2}$"),
            gxe.ExpectColumnValuesToMatchRegex(column="dest_country_iso3", regex="^T"),
            gxe.ExpectColumnValuesToMatchRegex(column="origin_adm1_code", regex="-"),  # unanchored
            gxe.ExpectColumnValuesToNotMatchRegex(column="origin_adm1_code", regex="VT"),
        ],
    )

    results = run_suite(db, "regexes", tmp_path)

    assert [(r.check_name, r.success, r.error) for r in results] == [
        ("expect_column_values_to_match_regex(origin_adm1_code)", True, None),
        ("expect_column_values_to_match_regex(dest_country_iso3)", False, None),
        ("expect_column_values_to_match_regex(origin_adm1_code) #2", True, None),
        ("expect_column_values_to_not_match_regex(origin_adm1_code)", False, None),
    ]
    assert results[1].observed.startswith("2 unexpected (40%), e.g. ")


def test_an_expectation_gx_cannot_evaluate_is_reported_as_an_error_not_as_passed_or_failed(
    tmp_path: Path,
) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    write_suite(
        tmp_path,
        "with_typo",
        "marts.fms_corridor_monthly",
        [
            gxe.ExpectColumnValuesToNotBeNull(column="respondant"),
            gxe.ExpectColumnValuesToNotBeNull(column="direction"),
        ],
    )

    broken, fine = run_suite(db, "with_typo", tmp_path)

    assert broken.check_name == "expect_column_values_to_not_be_null(respondant)"
    assert broken.success is None
    assert broken.error is not None and "respondant" in broken.error
    assert broken.observed and broken.observed in broken.error
    assert (fine.success, fine.error) == (True, None)


def test_the_file_can_be_opened_for_writing_in_the_same_process_right_after(
    tmp_path: Path,
) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    run_suite(db, SUITE, SUITES)
    run_suite(db, SUITE, SUITES)

    with duckdb.connect(str(db)) as writer:
        writer.execute("DELETE FROM marts.fms_corridor_monthly")
        assert writer.execute("SELECT count(*) FROM marts.fms_corridor_monthly").fetchone() == (0,)


def test_a_run_makes_no_network_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network call: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)

    assert all(r.success for r in run_suite(db, SUITE, SUITES))


def test_severity_comes_from_meta_and_defaults_to_critical(tmp_path: Path) -> None:
    write_suite(
        tmp_path,
        "severities",
        "t",
        [
            gxe.ExpectColumnValuesToNotBeNull(column="a"),
            gxe.ExpectTableRowCountToBeBetween(
                min_value=1, meta={"severity": "warning"}, severity="warning"
            ),
        ],
    )
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS a")

    assert [r.severity for r in run_suite(db, "severities", tmp_path)] == ["critical", "warning"]


def test_load_suite_reads_the_table_and_rejects_an_unknown_or_contradictory_severity(
    tmp_path: Path,
) -> None:
    assert load_suite(SUITE, SUITES).meta["table"] == "marts.fms_corridor_monthly"

    write_suite(tmp_path, "typo", "t", [gxe.ExpectColumnValuesToNotBeNull(column="a")])
    suite_json = json.loads((tmp_path / "typo.json").read_text())
    suite_json["expectations"][0]["meta"] = {"severity": "warn"}
    (tmp_path / "typo.json").write_text(json.dumps(suite_json))
    with pytest.raises(ValueError, match="'warn'"):
        load_suite("typo", tmp_path)

    # to_json_dict() writes GX's own severity field as "critical" unless told otherwise.
    write_suite(
        tmp_path,
        "mixed",
        "t",
        [gxe.ExpectColumnValuesToNotBeNull(column="a", meta={"severity": "warning"})],
    )
    with pytest.raises(ValueError, match="contradicts"):
        load_suite("mixed", tmp_path)
