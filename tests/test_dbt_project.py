"""dbt tier: one `dbt build` (models, data tests, unit tests) over a tiny raw layer.

The module builds the raw DuckDB once, runs dbt once, and the tests read the result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult
from dbt_fixtures import (
    DBT_PROJECT_DIR,
    create_raw_layer,
    insert_stories,
    insert_submissions,
    insert_tallies,
    submission,
)


@dataclass(frozen=True)
class Build:
    db_path: Path
    result: dbtRunnerResult


def _fms_rows() -> list[dict]:
    rows = []
    # LA-LM -> THA, March, outflow: 10 respondents counted, 5 of them women.
    for i in range(1, 8):
        rows.append(submission(f"lm-{i}", i, sex="female" if i <= 3 else "male"))
    # An edit chain, the last edit arriving first: lm-8a (CHN, male) -> lm-8b -> lm-8c
    # (THA, female). Only lm-8c counts, so no CHN cell appears.
    rows.append(
        submission("lm-8c", 30, deprecated_id="uuid:lm-8b", sex="female",
                   _submission_time="2026-03-12T03:00:00")
    )  # fmt: skip
    rows.append(submission("lm-8a", 31, dest_country="CHN"))
    rows.append(
        submission("lm-8b", 32, deprecated_id="uuid:lm-8a", dest_country="CHN",
                   _submission_time="2026-03-11T03:00:00")
    )  # fmt: skip
    # An edit whose original never arrived.
    rows.append(submission("lm-9b", 33, deprecated_id="uuid:lm-9a", sex="female"))
    # Approved, then edited; the edit is still approved.
    rows.append(submission("lm-10a", 34, _validation_status="validation_status_approved"))
    rows.append(
        submission("lm-10b", 35, deprecated_id="uuid:lm-10a",
                   _validation_status="validation_status_approved")
    )  # fmt: skip
    # Not counted: a rejected submission and a refusal.
    rows.append(
        submission("lm-rej", 40, sex="female", _validation_status="validation_status_not_approved")
    )
    rows.append(submission("lm-ref", 41, consent="no"))
    # LA-PH -> 'other', March, inflow: 3 respondents, suppressed.
    for i in range(1, 4):
        rows.append(
            submission(f"ph-{i}", 50 + i, direction="inflow", origin_adm1="LA-PH",
                       origin_adm2=None, dest_country="other", fmp="LAO_FMP_004",
                       today="2026-03-31")
        )  # fmt: skip
    return rows


def _tally(date: str, fmp: str, direction: str, count: int, row: int) -> dict:
    return {
        "date": date, "fmp": fmp, "direction": direction, "sex": "male",
        "age_group": "adults", "nationality": "LAO", "transport": "bus", "count": str(count),
        "observer_id": "obs1", "hours_observed": "8.5", "source_file": "fmr/tallies.csv",
        "source_row": row, "loaded_run_id": "run-1",
    }  # fmt: skip


def _story(story_id: str, consent: str, adm1: str | None) -> dict:
    return {
        "id": story_id, "title": f"Story {story_id}", "published": "2024-06-20",
        "language": "en", "consent": consent, "pseudonym": "Buakham", "person_age": "48",
        "residence_place": "Nateuy District", "residence_adm1_code": adm1,
        "residence_match_quality": "alias" if adm1 else "unmatched", "themes": ["income"],
        "body": "text", "source_file": f"stories/{story_id}.md", "loaded_run_id": "run-1",
    }  # fmt: skip


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    tmp = tmp_path_factory.mktemp("dbt")
    db_path = tmp / "internal.duckdb"
    create_raw_layer(db_path)
    insert_submissions(db_path, _fms_rows())
    insert_tallies(
        db_path,
        [
            _tally("2026-03-01", "LAO_FMP_001", "outflow", 3, 1),
            _tally("2026-03-01", "LAO_FMP_001", "outflow", 4, 2),
            _tally("2026-03-01", "LAO_FMP_001", "inflow", 2, 3),
            _tally("2026-03-02", "LAO_FMP_005", "outflow", 0, 4),
        ],
    )
    insert_stories(
        db_path,
        [
            _story("s1", "public", "LA-LM"),
            _story("s2", "public", "LA-LM"),
            _story("s3", "internal", "LA-PH"),
            _story("s4", "public", None),
        ],
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FMW_INTERNAL_DB", str(db_path))
        result = dbtRunner().invoke(
            [
                "build",
                "--project-dir", str(DBT_PROJECT_DIR),
                "--profiles-dir", str(DBT_PROJECT_DIR),
                "--target-path", str(tmp / "target"),
                "--log-path", str(tmp / "logs"),
            ]
        )  # fmt: skip
    return Build(db_path=db_path, result=result)


def _query(build: Build, sql: str) -> list[tuple]:
    with duckdb.connect(str(build.db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_dbt_build_succeeds_with_every_test_passing(build: Build) -> None:
    assert build.result.exception is None
    assert build.result.success
    failures = [
        (r.node.unique_id, str(r.status))
        for r in build.result.result
        if str(r.status) not in ("success", "pass")
    ]
    assert failures == []
    kinds = {r.node.resource_type for r in build.result.result}
    assert {"model", "test", "unit_test"} <= {str(k) for k in kinds}


def test_database_is_writable_right_after_the_build(build: Build) -> None:
    with duckdb.connect(str(build.db_path)) as con:
        con.execute("create table main.probe as select 1 as x")
        con.execute("drop table main.probe")


def test_published_marts_land_in_the_marts_schema(build: Build) -> None:
    tables = _query(
        build,
        "select table_name, table_type from information_schema.tables"
        " where table_schema = 'marts' order by table_name",
    )
    assert tables == [
        ("fmr_daily_flows", "BASE TABLE"),
        ("fms_corridor_monthly", "BASE TABLE"),
        ("story_coverage", "BASE TABLE"),
    ]


def test_corridor_counts_final_consenting_approved_versions_with_suppression(
    build: Build,
) -> None:
    rows = _query(
        build,
        "select month, direction, origin_adm1_code, dest_country_iso3, respondents,"
        " female_respondents, suppressed from marts.fms_corridor_monthly order by 1, 2, 3, 4",
    )
    march = dt.date(2026, 3, 1)
    assert rows == [
        (march, "inflow", "LA-PH", "XXX", None, None, True),
        (march, "outflow", "LA-LM", "THA", 10, 5, False),
    ]


def test_corridor_columns_have_the_published_types(build: Build) -> None:
    columns = _query(
        build,
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'fms_corridor_monthly'"
        " order by ordinal_position",
    )
    assert columns == [
        ("month", "DATE"),
        ("direction", "VARCHAR"),
        ("origin_adm1_code", "VARCHAR"),
        ("dest_country_iso3", "VARCHAR"),
        ("respondents", "BIGINT"),
        ("female_respondents", "BIGINT"),
        ("suppressed", "BOOLEAN"),
    ]


def test_daily_flows_sum_tallies_per_day_point_and_direction(build: Build) -> None:
    rows = _query(
        build,
        "select cast(date as varchar), fmp_code, direction, individuals"
        " from marts.fmr_daily_flows order by 1, 2, 3",
    )
    assert rows == [
        ("2026-03-01", "LAO_FMP_001", "inflow", 2),
        ("2026-03-01", "LAO_FMP_001", "outflow", 7),
        ("2026-03-02", "LAO_FMP_005", "outflow", 0),
    ]


def test_story_coverage_has_every_province_and_only_public_stories(build: Build) -> None:
    rows = {
        code: (stories, respondents)
        for code, stories, respondents in _query(
            build, "select adm1_code, public_stories, respondents from marts.story_coverage"
        )
    }
    assert len(rows) == 18
    assert rows["LA-LM"] == (2, 10)
    assert rows["LA-PH"] == (0, None)  # internal story not counted; 3 respondents < k
    assert rows["LA-VT"] == (0, None)
