"""The disclosure audit on tiny hand-made publications: it finds what a reader can recover,
and passes a pattern that protects."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from flows.disclosure.audit import audit_database
from tests.helpers.published_db import published_db

K = 5
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
Q1 = JAN


def corridor(month: date, dest: str, respondents: int | None, province: str = "LA-BK") -> dict:
    return {
        "month": month,
        "direction": "inflow",
        "origin_adm1_code": province,
        "dest_country_iso3": dest,
        "respondents": respondents,
    }


def crossing(month: date, respondents: int | None, point: str = "LAO_FMP_001") -> dict:
    return {
        "month": month,
        "fmp_code": point,
        "direction": "inflow",
        "registry_individuals": None,
        "respondents": respondents,
    }


def safe_total(dest: str, total: int | None, province: str = "LA-BK") -> list[dict]:
    """One indicator (written_contract) whose categories all hide: only the total counts."""
    key = {
        "quarter": Q1,
        "direction": "inflow",
        "origin_adm1_code": province,
        "dest_country_iso3": dest,
        "indicator": "written_contract",
        "corridor_respondents": total,
    }
    return [{**key, "category": c, "respondents": None} for c in ("yes", "no")]


def disclosing_2x2(path: Path) -> Path:
    """Months x destinations with one small cell and only primary suppression; the margins
    are published elsewhere: the months' totals at the crossing point, the destinations'
    quarter totals in the safe-migration table. The small cell is exactly 2."""
    return published_db(
        path,
        {
            "marts.fms_corridor_monthly": [
                corridor(JAN, "THA", None),
                corridor(JAN, "CHN", 10),
                corridor(FEB, "THA", 10),
                corridor(FEB, "CHN", 10),
            ],
            "marts.crossing_point_monthly": [crossing(JAN, 12), crossing(FEB, 20)],
            "marts.fms_safe_migration_quarterly": safe_total("THA", 12) + safe_total("CHN", 20),
        },
    )


def protected_2x2(path: Path) -> Path:
    """The same 2x2 with the small cell's whole rectangle hidden."""
    return published_db(
        path,
        {
            "marts.fms_corridor_monthly": [
                corridor(JAN, "THA", None),
                corridor(JAN, "CHN", None),
                corridor(FEB, "THA", None),
                corridor(FEB, "CHN", None),
                corridor(FEB, "VNM", 10),
            ],
            "marts.crossing_point_monthly": [crossing(JAN, 7), crossing(FEB, 17)],
            "marts.fms_safe_migration_quarterly": (
                safe_total("THA", 7) + safe_total("CHN", 7) + safe_total("VNM", 10)
            ),
        },
    )


def intervals(report) -> dict[tuple, tuple]:
    return {
        (i.cell.table.split(".")[1], i.cell.column, i.cell.key): (i.lower, i.upper)
        for i in report.intervals
    }


def test_a_2x2_with_one_small_cell_and_only_primary_suppression_is_disclosed_exactly(tmp_path):
    database = disclosing_2x2(tmp_path / "p.duckdb")

    report = audit_database(database, K)

    cell = ("fms_corridor_monthly", "respondents", (JAN, "inflow", "LA-BK", "THA"))
    assert intervals(report)[cell] == (2, 2)
    assert [i.cell.key for i in report.exact] == [cell[2]]
    assert not report.passes


def test_a_cell_recoverable_only_through_a_second_table_is_found(tmp_path):
    cells = [corridor(JAN, "THA", None), corridor(FEB, "THA", 10), corridor(MAR, "THA", 10)]
    alone = audit_database(
        published_db(tmp_path / "alone.duckdb", {"marts.fms_corridor_monthly": cells}), K
    )
    with_coverage = audit_database(
        published_db(
            tmp_path / "linked.duckdb",
            {
                "marts.fms_corridor_monthly": cells,
                "marts.story_coverage": [
                    {"adm1_code": "LA-BK", "public_stories": 0, "respondents": 23}
                ],
            },
        ),
        K,
    )

    key = ("fms_corridor_monthly", "respondents", (JAN, "inflow", "LA-BK", "THA"))
    assert alone.passes and intervals(alone)[key] == (1, float("inf"))
    assert intervals(with_coverage)[key] == (3, 3)
    assert len(with_coverage.exact) == 1
    # and its women, at most 3 of them
    assert {i.cell.column for i in with_coverage.under_k} == {"respondents", "female_respondents"}


def test_a_month_is_the_quarter_less_its_other_months(tmp_path):
    # issue 19's example: Jan inflow LA-BK -> MYS = Q1 corridor total 13 - Feb 6 - Mar 6 = 1
    database = published_db(
        tmp_path / "p.duckdb",
        {
            "marts.fms_corridor_monthly": [
                corridor(JAN, "MYS", None),
                corridor(FEB, "MYS", 6),
                corridor(MAR, "MYS", 6),
            ],
            "marts.fms_safe_migration_quarterly": safe_total("MYS", 13),
        },
    )

    report = audit_database(database, K)

    key = ("fms_corridor_monthly", "respondents", (JAN, "inflow", "LA-BK", "MYS"))
    assert intervals(report)[key] == (1, 1)
    assert "1 exactly disclosed" in report.summary()


def test_a_share_beside_a_suppressed_count_discloses_it(tmp_path):
    key = {
        "quarter": Q1,
        "direction": "inflow",
        "origin_adm1_code": "LA-BK",
        "dest_country_iso3": "THA",
        "indicator": "took_on_debt",
        "corridor_respondents": 20,
    }
    database = published_db(
        tmp_path / "p.duckdb",
        {
            "marts.fms_safe_migration_quarterly": [
                {**key, "category": "yes", "respondents": None, "share": 0.15},
                {**key, "category": "no", "respondents": None},
            ]
        },
    )

    report = audit_database(database, K)

    assert intervals(report)[
        (
            "fms_safe_migration_quarterly",
            "respondents",
            (Q1, "inflow", "LA-BK", "THA", "took_on_debt", "yes"),
        )
    ] == (3, 3)
    assert [(f.table, f.measure) for f in report.measure_findings] == [
        ("marts.fms_safe_migration_quarterly", "share")
    ]


def test_a_median_over_fewer_than_k_people_is_a_finding(tmp_path):
    row = {
        "direction": "outflow",
        "origin_adm1_code": "LA-BK",
        "dest_country_iso3": "THA",
        "sector_destination": "construction",
        "median_income_before_lak": 1_500_000.0,
    }
    small = published_db(
        tmp_path / "small.duckdb",
        {"marts.fms_income_uplift": [{**row, "respondents": 2, "suppressed": False}]},
    )
    hidden = published_db(
        tmp_path / "hidden.duckdb", {"marts.fms_income_uplift": [{**row, "respondents": None}]}
    )
    fine = published_db(
        tmp_path / "fine.duckdb", {"marts.fms_income_uplift": [{**row, "respondents": 7}]}
    )

    for database in (small, hidden):
        report = audit_database(database, K)
        assert [f.measure for f in report.measure_findings] == ["median_income_before_lak"]
        assert not report.passes
    assert audit_database(fine, K).passes


def test_a_protected_pattern_passes(tmp_path):
    database = protected_2x2(tmp_path / "p.duckdb")  # each cell ranges from 1 to 6

    report = audit_database(database, K)

    corridors = {
        key: bounds
        for key, bounds in intervals(report).items()
        if key[:2] == ("fms_corridor_monthly", "respondents")
    }
    assert set(corridors.values()) == {(1, 6)}
    assert report.passes, report.summary()
    assert report.summary().startswith(
        f"{len(report.intervals)} suppressed cells, 0 exactly disclosed, 0 with upper bound < k=5"
    )


def test_refusals_and_the_crossing_point_give_the_consenting_remainder(tmp_path):
    # approached = refusals + respondents: published refusals and approached give a hidden
    # crossing-point count
    database = published_db(
        tmp_path / "p.duckdb",
        {
            "marts.crossing_point_monthly": [crossing(JAN, None)],
            "marts.fms_refusals_monthly": [
                {
                    "month": JAN,
                    "fmp_code": "LAO_FMP_001",
                    "direction": "inflow",
                    "people_approached": 12,
                    "refusals": 9,
                    "refusal_share": 0.75,
                    "suppressed": False,
                }
            ],
        },
    )

    report = audit_database(database, K)

    key = ("crossing_point_monthly", "respondents", (JAN, "LAO_FMP_001", "inflow"))
    assert intervals(report)[key] == (3, 3)


def test_the_survey_rows_loaded_bound_everyone_approached(tmp_path):
    cells = [corridor(JAN, "THA", None), corridor(FEB, "THA", 10)]
    loads = [{"source": "fms", "file_name": "a.csv", "rows_loaded": 13}]
    report = audit_database(
        published_db(
            tmp_path / "p.duckdb",
            {"marts.fms_corridor_monthly": cells, "ops.file_loads": loads},
        ),
        K,
    )

    key = ("fms_corridor_monthly", "respondents", (JAN, "inflow", "LA-BK", "THA"))
    assert intervals(report)[key] == (1, 3)
    assert not report.exact and {i.cell.key for i in report.under_k} == {key[2]}


def test_a_population_provably_empty_is_no_disclosure_but_an_empty_part_is(tmp_path):
    # a point the registry alone saw: its survey respondents are provably 0, nobody is there
    registry_only = {**crossing(JAN, None, point="LAO_FMP_002"), "registry_individuals": 50}
    empty_point = published_db(
        tmp_path / "point.duckdb",
        {
            "marts.fms_corridor_monthly": [corridor(JAN, "THA", 12)],
            "marts.crossing_point_monthly": [crossing(JAN, 12), registry_only],
        },
    )
    # "no" is provably 0: all 7 of the corridor said yes
    key = {
        "quarter": Q1,
        "direction": "inflow",
        "origin_adm1_code": "LA-BK",
        "dest_country_iso3": "THA",
        "indicator": "holds_passport",
        "corridor_respondents": 7,
    }
    empty_part = published_db(
        tmp_path / "part.duckdb",
        {
            "marts.fms_safe_migration_quarterly": [
                {**key, "category": "yes", "respondents": 7, "share": 1.0},
                {**key, "category": "no", "respondents": None},
            ]
        },
    )

    point = audit_database(empty_point, K)
    part = audit_database(empty_part, K)

    # its document holders too: parts of nobody
    assert {(i.cell.column, i.cell.key) for i in point.empty} == {
        (column, (JAN, "LAO_FMP_002", "inflow"))
        for column in (
            "respondents",
            "passport_holders",
            "border_pass_holders",
            "work_permit_holders",
        )
    }
    assert point.passes and "4 provably empty" in point.summary()
    assert not part.empty and len(part.exact) == 1 and not part.passes


def test_the_rows_of_every_run_bound_everyone_approached_less_the_other_sources(tmp_path):
    cells = [corridor(JAN, "THA", None), corridor(FEB, "THA", 10)]
    loads = [{"source": "fmr", "file_name": "tally.csv", "rows_loaded": 40}]
    database = published_db(
        tmp_path / "p.duckdb",
        {"marts.fms_corridor_monthly": cells, "ops.file_loads": loads},
    )
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE ops.runs (run_id VARCHAR, rows_loaded BIGINT)")
        connection.execute("INSERT INTO ops.runs VALUES ('r1', 45), ('r2', 7)")

    report = audit_database(database, K)

    # 52 rows in all runs, 40 of them tallies: at most 12 survey rows, 10 of them published
    key = ("fms_corridor_monthly", "respondents", (JAN, "inflow", "LA-BK", "THA"))
    assert intervals(report)[key] == (1, 2)
