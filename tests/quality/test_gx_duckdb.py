"""Specification of flows.quality.gx_duckdb: GX suites run inside a read-only DuckDB file."""

from __future__ import annotations

import json
import logging
import socket
from datetime import date, datetime
from pathlib import Path

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pytest

from flows.config import resolve_settings
from flows.quality.gx_duckdb import (
    CheckResult,
    NewRows,
    ValidationSession,
    is_row_level,
    load_suite,
    validate_suite,
)
from tests.helpers.suites import run_suite

SUITES = Path(__file__).resolve().parents[2] / "expectations"

SUITE = "marts_fms_corridor_monthly"
# k, and the resolved respondents behind GOOD_ROWS: 47 published + 2 suppressed cells of 1 to 4.
PARAMETERS = {"k": 5, "fms_respondents": 50}
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


def test_a_good_table_passes_every_check_of_the_committed_suite(tmp_path: Path) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)

    results = run_suite(db, SUITE, SUITES, PARAMETERS)

    committed = json.loads((SUITES / f"{SUITE}.json").read_text())
    assert len(results) == len(committed["expectations"])
    assert len({r.check_name for r in results}) == len(results)
    assert [(r.check_name, r.success, r.error) for r in results if r.success is not True] == []


def test_every_committed_expectation_gives_a_verdict_on_duckdb_not_an_exception(
    tmp_path: Path,
) -> None:
    # Guards the GX-on-DuckDB workarounds: without them GX reports exceptions, not verdicts.
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)

    results = run_suite(db, SUITE, SUITES, PARAMETERS)

    assert [(r.check_name, r.error) for r in results if r.error is not None] == []
    assert all(r.success is not None for r in results)


def test_an_empty_table_fails_only_its_row_count_warning(tmp_path: Path) -> None:
    db = make_db(tmp_path / "w.duckdb", [])

    results = by_name(run_suite(db, SUITE, SUITES, {"k": 5, "fms_respondents": 0}))

    not_passed = [name for name, r in results.items() if r.success is not True]
    assert len(not_passed) == 1 and not_passed[0].startswith("expect_table_row_count_to_be_between")
    row_count = results[not_passed[0]]
    assert (row_count.success, row_count.severity, row_count.observed) == (False, "warning", "0")


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
    run_suite(db, SUITE, SUITES, PARAMETERS)
    run_suite(db, SUITE, SUITES, PARAMETERS)

    with duckdb.connect(str(db)) as writer:
        writer.execute("DELETE FROM marts.fms_corridor_monthly")
        assert writer.execute("SELECT count(*) FROM marts.fms_corridor_monthly").fetchone() == (0,)


def test_a_run_makes_no_network_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network call: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)

    assert all(r.success for r in run_suite(db, SUITE, SUITES, PARAMETERS))


def test_a_run_keeps_gx_context_chatter_out_of_the_refresh_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    # As in a refresh: loggers pass warnings on by default; whatever gets through is shown.
    caplog.set_level(logging.WARNING)
    caplog.handler.setLevel(logging.NOTSET)

    run_suite(db, SUITE, SUITES, PARAMETERS)

    assert [r.getMessage() for r in caplog.records if r.name.startswith("great_expectations")] == []


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


def test_run_parameters_reach_gx_kwargs_and_the_sql_of_query_expectations(tmp_path: Path) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    write_suite(
        tmp_path,
        "parameters",
        "marts.fms_corridor_monthly",
        [
            gxe.ExpectColumnValuesToBeBetween(column="respondents", min_value={"$PARAMETER": "k"}),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT * FROM {batch} WHERE respondents < getvariable('k')"
            ),
        ],
    )

    at_5 = run_suite(db, "parameters", tmp_path, {"k": 5})
    at_6 = run_suite(db, "parameters", tmp_path, {"k": 6})

    assert [r.success for r in at_5] == [True, True]
    assert [(r.success, r.observed) for r in at_6] == [
        (False, "1 unexpected (33.3%), e.g. 5"),
        (False, "1 unexpected rows"),
    ]


def test_one_session_validates_many_tables_and_runs_as_separate_runs_would(
    tmp_path: Path,
) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE marts.copy AS SELECT * FROM marts.fms_corridor_monthly")
    write_suite(
        tmp_path,
        "below_k",
        "*",
        [
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT * FROM {batch} WHERE respondents < getvariable('k')"
            ),
        ],
    )
    runs = [("marts.fms_corridor_monthly", 5), ("marts.copy", 6), ("marts.copy", 5)]

    with ValidationSession() as session:
        together = [
            session.validate(db, "below_k", tmp_path, {"k": k}, table).checks for table, k in runs
        ]
        twice = [session.validate(db, SUITE, SUITES, PARAMETERS).checks for _ in range(2)]
    separately = [run_suite(db, "below_k", tmp_path, {"k": k}, table) for table, k in runs]

    assert together == separately
    assert [[r.success for r in checks] for checks in together] == [[True], [False], [True]]
    assert twice[0] == twice[1] == run_suite(db, SUITE, SUITES, PARAMETERS)
    with duckdb.connect(str(db)) as writer:  # leaving the session closed its connections
        writer.execute("DROP TABLE marts.copy")


def test_a_query_reads_every_run_parameter_however_its_sql_spells_getvariable(
    tmp_path: Path,
) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    write_suite(
        tmp_path,
        "spelled",
        "marts.fms_corridor_monthly",
        [
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "SELECT * FROM {batch} WHERE respondents < GETVARIABLE ( 'k' )"
                )
            ),
            gxe.ExpectColumnValuesToBeBetween(column="respondents", min_value={"$PARAMETER": "k"}),
        ],
    )

    assert [r.success for r in run_suite(db, "spelled", tmp_path, {"k": 6})] == [False, False]


def test_validation_connections_keep_to_the_flows_duckdb_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMW_DUCKDB_MEMORY_LIMIT", "128MiB")
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    write_suite(
        tmp_path,
        "memory",
        "marts.fms_corridor_monthly",
        [
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "SELECT * FROM {batch} WHERE current_setting('memory_limit') <> '128.0 MiB'"
                )
            )
        ],
    )

    limit = resolve_settings().duckdb_memory_limit
    assert [r.success for r in run_suite(db, "memory", tmp_path, memory_limit=limit)] == [True]


def test_a_suite_is_refused_when_the_run_lacks_a_parameter_it_reads(tmp_path: Path) -> None:
    # A missing DuckDB variable reads as NULL, and `x < NULL` selects no rows: the check would pass.
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    write_suite(
        tmp_path,
        "needs_k",
        "marts.fms_corridor_monthly",
        [
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT * FROM {batch} WHERE respondents < getvariable('k')"
            )
        ],
    )

    with pytest.raises(ValueError, match="needs run parameter.* k"):
        run_suite(db, "needs_k", tmp_path, {})


def test_a_suite_for_any_table_runs_on_the_table_it_is_given_and_says_which(
    tmp_path: Path,
) -> None:
    db = make_db(tmp_path / "w.duckdb", GOOD_ROWS)
    write_suite(
        tmp_path,
        "any",
        "*",
        [gxe.ExpectTableRowCountToBeBetween(min_value=1, meta={"check": "not empty"})],
    )

    validation = validate_suite(db, "any", tmp_path, table="marts.fms_corridor_monthly")

    assert (validation.suite, validation.table) == (
        "any:marts.fms_corridor_monthly",
        "marts.fms_corridor_monthly",
    )
    assert [(r.suite, r.check_name, r.success) for r in validation.checks] == [
        ("any:marts.fms_corridor_monthly", "expect_table_row_count_to_be_between(not empty)", True)
    ]
    assert validation.gx_result["results"][0]["result"]["observed_value"] == len(GOOD_ROWS)
    with pytest.raises(ValueError, match="name one"):
        validate_suite(db, "any", tmp_path)
    with pytest.raises(ValueError, match="not marts.other"):
        validate_suite(db, SUITE, SUITES, PARAMETERS, table="marts.other")


def test_observed_can_keep_the_tables_values_out_of_the_verdicts(tmp_path: Path) -> None:
    db = make_db(tmp_path / "w.duckdb", replace_direction(GOOD_ROWS, "sideways"))

    with_values = by_name(run_suite(db, SUITE, SUITES, PARAMETERS))
    without = by_name(run_suite(db, SUITE, SUITES, PARAMETERS, values_in_observed=False))

    check = "expect_column_values_to_be_in_set(direction)"
    assert with_values[check].observed == "1 unexpected (20%), e.g. 'sideways'"
    assert without[check].observed == "1 unexpected (20%)"


def replace_direction(rows: list[tuple], direction: str) -> list[tuple]:
    first = rows[0]
    return [(first[0], direction, *first[2:]), *rows[1:]]


def _loads_db(path: Path) -> Path:
    """raw.loads: three rows loaded at 10:00 (one of them bad), then two more at 11:00."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.loads (id VARCHAR, sex VARCHAR, loaded_at TIMESTAMP)")
        con.execute(
            "INSERT INTO raw.loads VALUES ('a', 'female', '2026-11-01 10:00'),"
            " ('b', 'other', '2026-11-01 10:00'), ('c', 'male', '2026-11-01 10:00'),"
            " ('d', 'unknown', '2026-11-01 11:00'), ('a', 'male', '2026-11-01 11:00')"
        )
    return path


def _loads_suite(directory: Path) -> Path:
    query = "SELECT sex FROM {batch} WHERE sex NOT IN ('female', 'male')"
    return write_suite(
        directory,
        "loads",
        "raw.loads",
        [
            gxe.ExpectColumnValuesToBeInSet(column="sex", value_set=["female", "male"]),
            gxe.ExpectColumnValuesToBeUnique(column="id"),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=query, meta={"check": "sex by row", "row_level": True}
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=query, meta={"check": "sex by query"}
            ),
        ],
    )


def test_with_new_rows_the_row_level_checks_see_only_them_and_the_others_every_row(
    tmp_path: Path,
) -> None:
    db = _loads_db(tmp_path / "w.duckdb")
    new_rows = NewRows("loaded_at", datetime(2026, 11, 1, 10, 30))

    validation = validate_suite(
        db, "loads", _loads_suite(tmp_path), values_in_observed=False, new_rows=new_rows
    )

    observed = {c.check_name: (c.success, c.observed) for c in validation.checks}
    scope = " (rows with loaded_at after 2026-11-01 10:30:00)"
    assert observed == {
        # 'other' was loaded before the cut-off; only 'unknown' is new
        "expect_column_values_to_be_in_set(sex)": (False, f"1 unexpected (50%){scope}"),
        "unexpected_rows_expectation(sex by row)": (False, f"1 unexpected rows{scope}"),
        # not marked row-level: it might compare rows, so it sees the whole table
        "unexpected_rows_expectation(sex by query)": (False, "2 unexpected rows"),
        # the new 'a' duplicates one loaded before the cut-off
        "expect_column_values_to_be_unique(id)": (False, "2 unexpected (40%)"),
    }
    assert [c.check_name for c in validation.checks] == [
        c.check_name for c in validate_suite(db, "loads", tmp_path).checks
    ]
    results = validation.gx_result["results"]
    assert [r["expectation_config"]["id"] for r in results] == [
        e["id"] for e in validation.expectations
    ]
    assert validation.gx_result["statistics"]["unsuccessful_expectations"] == 4
    assert not validation.gx_result["success"]
    assert [
        part["meta"]["active_batch_definition"]["data_asset_name"]
        for part in validation.gx_result["parts"]
    ] == ["loads where loaded_at > 2026-11-01 10:30:00", "loads"]
    assert validation.new_rows == new_rows


def test_without_new_rows_every_check_sees_every_row(tmp_path: Path) -> None:
    db = _loads_db(tmp_path / "w.duckdb")

    validation = validate_suite(db, "loads", _loads_suite(tmp_path), values_in_observed=False)

    observed = {c.check_name: c.observed for c in validation.checks}
    assert observed["expect_column_values_to_be_in_set(sex)"] == "2 unexpected (40%)"
    assert observed["unexpected_rows_expectation(sex by row)"] == "2 unexpected rows"
    assert validation.new_rows is None


def test_only_checks_that_judge_each_row_on_its_own_are_row_level() -> None:
    in_set = gxe.ExpectColumnValuesToBeInSet
    query = "SELECT sex FROM {batch} WHERE sex IS NULL"
    assert is_row_level(in_set(column="sex", value_set=["female"]))
    assert not is_row_level(in_set(column="sex", value_set=["female"], mostly=0.9))
    assert not is_row_level(gxe.ExpectColumnValuesToBeUnique(column="id"))
    assert not is_row_level(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    assert not is_row_level(gxe.UnexpectedRowsExpectation(unexpected_rows_query=query))
    marked = gxe.UnexpectedRowsExpectation(unexpected_rows_query=query, meta={"row_level": True})
    assert is_row_level(marked)
