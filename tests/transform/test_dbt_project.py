"""dbt tier: one `dbt build` (seeds, models, data tests, unit tests) over a tiny raw layer.

The module builds the raw DuckDB once, runs dbt once, and the tests read the result.
Checks that need no build are in test_dbt_reference.py.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunnerResult

from flows.config import Settings, resolve_settings
from flows.transform.dbt import dbt_vars, generate_docs, parse_project, run_dbt
from tests.helpers.dbt_compiles import DocsCompiles
from tests.helpers.dbt_fixtures import (
    DBT_PROJECT_DIR,
    create_raw_layer,
    insert_fx_rates,
    insert_stories,
    insert_submissions,
    insert_tallies,
    invoke_dbt,
    submission,
)

# Every test here reads the module's one dbt build (about 20-40 s on two cores).
pytestmark = pytest.mark.slow

THB_OVERRIDE = "648.10"  # the landing zone's LAK per THB for March 2026 (the seed says ~691)
USD_SEED_2026_03 = 21850.0  # dbt_project/seeds/fx_rates_monthly.csv


@dataclass(frozen=True)
class Build:
    db_path: Path
    target: Path
    result: dbtRunnerResult
    seconds: float


def _fms_rows() -> list[dict]:
    """LA-LM -> THA, March, outflow at LAO_FMP_001: 10 counted respondents, half of them
    in each of: women, ages 25-34, economic reasons, licensed agencies, passports, loans.
    The other half is men, aged 40, family reasons, informal brokers, border pass and work
    permit, no loan. Plus 3 suppressed LA-PH inflow respondents and two not counted."""
    rows = []

    def first_half(**fields: object) -> dict:
        return {"age": "30", "reason": "economic", "recruitment_channel": "licensed_agency",
                "documents": "passport", "cost_paid_by": "savings loan"} | fields  # fmt: skip

    def second_half(**fields: object) -> dict:
        return {"age": "40", "reason": "family"} | fields

    for i in range(1, 6):
        rows.append(
            submission(f"lm-{i}", i, sex="female" if i <= 3 else "male",
                       **first_half(debt_lak=str(i * 1_000_000)))
        )  # fmt: skip
    for i in range(6, 8):
        rows.append(submission(f"lm-{i}", i, **second_half()))
    # An edit chain, the last edit arriving first: lm-8a (CHN, male) -> lm-8b -> lm-8c
    # (THA, female). Only lm-8c counts, so no CHN cell appears.
    rows.append(
        submission("lm-8c", 30, deprecated_id="uuid:lm-8b", sex="female",
                   _submission_time="2026-03-12T03:00:00", **second_half())
    )  # fmt: skip
    rows.append(submission("lm-8a", 31, dest_country="CHN"))
    rows.append(
        submission("lm-8b", 32, deprecated_id="uuid:lm-8a", dest_country="CHN",
                   _submission_time="2026-03-11T03:00:00")
    )  # fmt: skip
    # An edit whose original never arrived.
    rows.append(submission("lm-9b", 33, deprecated_id="uuid:lm-9a", sex="female", **second_half()))
    # Approved, then edited; the edit is still approved.
    rows.append(submission("lm-10a", 34, _validation_status="validation_status_approved"))
    rows.append(
        submission("lm-10b", 35, deprecated_id="uuid:lm-10a",
                   _validation_status="validation_status_approved", **second_half())
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
            _tally("2026-03-05", "LAO_FMP_001", "outflow", 10, 5),
            _tally("2026-03-10", "LAO_FMP_001", "outflow", 1, 6),
        ],
    )
    insert_fx_rates(db_path, [("2026-03", "THB", THB_OVERRIDE)])
    insert_stories(
        db_path,
        [
            _story("s1", "public", "LA-LM"),
            _story("s2", "public", "LA-LM"),
            _story("s3", "internal", "LA-PH"),
            _story("s4", "public", None),
        ],
    )
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FMW_INTERNAL_DB", str(db_path))
        result = invoke_dbt(
            [
                "build",
                "--project-dir", str(DBT_PROJECT_DIR),
                "--profiles-dir", str(DBT_PROJECT_DIR),
                "--target-path", str(tmp / "target"),
                "--log-path", str(tmp / "logs"),
                "--vars", json.dumps(dbt_vars(resolve_settings())),
            ]
        )  # fmt: skip
    return Build(db_path, tmp / "target", result, time.perf_counter() - started)


def _query(build: Build, sql: str) -> list[tuple]:
    with duckdb.connect(str(build.db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


PUBLISHED_MARTS = [
    "crossing_point_monthly",
    "dim_countries",
    "dim_districts",
    "dim_flow_monitoring_points",
    "dim_fx_rates",
    "dim_months",
    "dim_provinces",
    "fmr_daily_flows",
    "fmr_flows_rolling",
    "fms_corridor_monthly",
    "fms_income_uplift",
    "fms_origin_profile_quarterly",
    "fms_refusals_monthly",
    "fms_safe_migration_quarterly",
    "story_catalogue",
    "story_coverage",
]


def test_dbt_build_succeeds_with_every_test_passing(build: Build) -> None:
    assert build.result.exception is None
    assert build.result.success
    failures = [
        (r.node.unique_id, str(r.status))
        for r in build.result.result
        if str(r.status) not in ("success", "pass")
    ]
    assert failures == []
    kinds = {str(r.node.resource_type) for r in build.result.result}
    assert {"model", "seed", "test", "unit_test"} <= kinds
    print(f"dbt build on the fixture: {build.seconds:.1f} s")


def test_database_is_writable_right_after_the_build(build: Build) -> None:
    with duckdb.connect(str(build.db_path)) as con:
        con.execute("create table main.probe as select 1 as x")
        con.execute("drop table main.probe")


def test_published_marts_land_in_the_marts_schema_and_facts_do_not(build: Build) -> None:
    marts = _query(
        build,
        "select table_name, table_type from information_schema.tables"
        " where table_schema = 'marts' order by table_name",
    )
    assert marts == [(name, "BASE TABLE") for name in PUBLISHED_MARTS]
    core = _query(
        build,
        "select table_name from information_schema.tables"
        " where table_schema = 'core' order by table_name",
    )
    assert core == [("fct_fmr_tallies",), ("fct_fms_interviews",), ("fct_stories",)]


def test_every_published_column_is_described_and_contracted(build: Build) -> None:
    manifest = json.loads((build.target / "manifest.json").read_text())
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
    assert sorted(models) == PUBLISHED_MARTS
    for name, node in models.items():
        assert node["config"]["contract"]["enforced"], name
        assert node["description"].strip(), name
        columns = [c for (c,) in _query(
            build,
            "select column_name from information_schema.columns where table_schema = 'marts'"
            f" and table_name = '{name}' order by ordinal_position",
        )]  # fmt: skip
        undocumented = [
            c for c in columns if not node["columns"].get(c, {}).get("description", "").strip()
        ]
        assert undocumented == [], name


def test_published_keys_are_not_null_constraints_the_database_enforces(build: Build) -> None:
    # Constraints, not data tests: DuckDB refuses the row while dbt builds the table, at
    # no extra query per column (dbt-duckdb enforces contracted not_null and primary_key).
    constrained = _query(
        build,
        "select table_name, constraint_type, constraint_column_names[1]"
        " from duckdb_constraints() where schema_name = 'marts'"
        " and constraint_type in ('NOT NULL', 'PRIMARY KEY')",
    )
    assert {
        ("fms_corridor_monthly", "NOT NULL", "month"),
        ("fms_corridor_monthly", "NOT NULL", "dest_country_iso3"),
        ("fms_corridor_monthly", "NOT NULL", "suppressed"),
        ("fmr_daily_flows", "NOT NULL", "fmp_code"),
        ("dim_provinces", "PRIMARY KEY", "adm1_code"),
        ("story_coverage", "PRIMARY KEY", "adm1_code"),
    } <= set(constrained)
    with duckdb.connect(str(build.db_path)) as con:
        con.execute("begin")  # rolled back: other tests read this build
        with pytest.raises(duckdb.ConstraintException):
            con.execute("insert into marts.fms_corridor_monthly (month) values (null)")
        con.execute("rollback")


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


def test_interview_fact_holds_one_row_per_counted_interview(build: Build) -> None:
    rows = _query(
        build,
        "select submission_uuid, chain_root_uuid from core.fct_fms_interviews order by 1",
    )
    counted = [f"lm-{i}" for i in range(1, 8)] + ["lm-10b", "lm-8c", "lm-9b"]
    assert [uuid for uuid, _ in rows] == sorted(counted + ["ph-1", "ph-2", "ph-3"])
    roots = dict(rows)
    assert (roots["lm-8c"], roots["lm-9b"], roots["lm-10b"]) == ("lm-8a", "lm-9a", "lm-10a")


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
        ("2026-03-05", "LAO_FMP_001", "outflow", 10),
        ("2026-03-10", "LAO_FMP_001", "outflow", 1),
    ]


def test_rolling_flows_count_calendar_days_with_gaps_as_zero(build: Build) -> None:
    rows = _query(
        build,
        "select day(date), individuals, individuals_7d, individuals_28d, tally_days_7d"
        " from marts.fmr_flows_rolling"
        " where fmp_code = 'LAO_FMP_001' and direction = 'outflow' order by date",
    )
    assert rows == [
        (1, 7, 7, 7, 1),
        (2, 0, 7, 7, 1),
        (3, 0, 7, 7, 1),
        (4, 0, 7, 7, 1),
        (5, 10, 17, 17, 2),
        (6, 0, 17, 17, 2),
        (7, 0, 17, 17, 2),
        (8, 0, 10, 17, 1),  # 2-8 March: the 7 of 1 March has left the window
        (9, 0, 10, 17, 1),
        (10, 1, 11, 18, 2),
    ]
    # LAO_FMP_005's series runs from its first tally day to the registry's last day
    days = _query(
        build,
        "select min(date), max(date), count(*) from marts.fmr_flows_rolling"
        " where fmp_code = 'LAO_FMP_005' and direction = 'inflow'",
    )
    assert days == [(dt.date(2026, 3, 2), dt.date(2026, 3, 10), 9)]


def test_crossing_point_month_puts_registry_and_survey_side_by_side(build: Build) -> None:
    rows = _query(
        build,
        "select fmp_code, direction, registry_individuals, registry_days, respondents,"
        " passport_holders, share_passport, border_pass_holders, suppressed"
        " from marts.crossing_point_monthly order by 1, 2",
    )
    assert rows == [
        ("LAO_FMP_001", "inflow", 2, 1, None, None, None, None, True),
        ("LAO_FMP_001", "outflow", 18, 3, 10, 5, 0.5, 5, False),
        ("LAO_FMP_004", "inflow", None, 0, None, None, None, None, True),
        ("LAO_FMP_005", "outflow", 0, 1, None, None, None, None, True),
    ]


def test_refusals_cannot_be_recovered_from_the_crossing_point_respondents(build: Build) -> None:
    """LAO_FMP_001, March, outflow: 11 people approached, 1 refused (below k), 10
    respondents. crossing_point_monthly publishes the 10, so publishing the 11 would give
    away the one refusal: both are withheld, and the row is suppressed."""
    refusals = _query(
        build,
        "select people_approached, refusals, refusal_share, suppressed"
        " from marts.fms_refusals_monthly where fmp_code = 'LAO_FMP_001' and direction = 'outflow'",
    )
    respondents = _query(
        build,
        "select respondents from marts.crossing_point_monthly"
        " where fmp_code = 'LAO_FMP_001' and direction = 'outflow'",
    )
    assert refusals == [(None, None, None, True)]
    assert respondents == [(10,)]


def test_origin_profile_publishes_complementary_suppressed_partitions(build: Build) -> None:
    rows = _query(
        build,
        "select breakdown, category, area_respondents, respondents, share"
        " from marts.fms_origin_profile_quarterly"
        " where origin_adm1_code = 'LA-LM' and origin_adm2_code = 'LA0301'"
        " and (breakdown in ('sex', 'age_band') or category in ('economic', 'family'))"
        " order by 1, 2",
    )
    assert rows == [
        ("age_band", "14-17", 10, None, None),
        ("age_band", "18-24", 10, None, None),
        ("age_band", "25-34", 10, None, None),  # hidden with the four empty bands
        ("age_band", "35-44", 10, 5, 0.5),
        ("age_band", "45-59", 10, None, None),
        ("age_band", "60+", 10, None, None),
        ("reason", "economic", 10, None, None),
        ("reason", "family", 10, 5, 0.5),
        ("sex", "female", 10, 5, 0.5),
        ("sex", "male", 10, 5, 0.5),
    ]
    # every area of LA-PH is below k: nothing but NULLs
    ph = _query(
        build,
        "select count(*), count(area_respondents), count(respondents)"
        " from marts.fms_origin_profile_quarterly where origin_adm1_code = 'LA-PH'",
    )
    assert ph[0][0] > 0 and ph[0][1:] == (0, 0)


def test_safe_migration_shares_and_median_debt(build: Build) -> None:
    rows = _query(
        build,
        "select indicator, category, respondents, share, median_debt_lak"
        " from marts.fms_safe_migration_quarterly where dest_country_iso3 = 'THA'"
        " and indicator in ('took_on_debt', 'holds_passport', 'recruitment_channel')"
        " and respondents is not null order by 1, 2",
    )
    assert rows == [
        ("holds_passport", "no", 5, 0.5, None),
        ("holds_passport", "yes", 5, 0.5, None),
        # 5 licensed; informal (5) is hidden with the empty channels, which add up to 0
        ("recruitment_channel", "licensed_agency", 5, 0.5, None),
        ("took_on_debt", "no", 5, 0.5, None),
        ("took_on_debt", "yes", 5, 0.5, 3_000_000.0),
    ]


def test_income_uplift_converts_with_the_landing_zone_override(build: Build) -> None:
    rate = _query(
        build,
        "select lak_per_unit, rate_source from marts.dim_fx_rates"
        " where month = '2026-03-01' and currency = 'THB'",
    )
    assert rate == [(float(THB_OVERRIDE), "override")]
    [row] = _query(
        build,
        "select respondents, median_income_before_lak, median_income_destination_lak,"
        " median_income_before_usd, median_income_destination_usd, income_ratio"
        " from marts.fms_income_uplift where dest_country_iso3 = 'THA'",
    )
    destination_lak = 9000 * float(THB_OVERRIDE)
    assert row == pytest.approx(
        (
            10,
            2_000_000,
            destination_lak,
            2_000_000 / USD_SEED_2026_03,
            destination_lak / USD_SEED_2026_03,
            destination_lak / 2_000_000,
        )
    )


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


def test_story_catalogue_lists_public_stories_without_the_pseudonym(build: Build) -> None:
    rows = _query(
        build,
        "select story_id, residence_adm1_code, themes from marts.story_catalogue order by 1",
    )
    assert rows == [
        ("s1", "LA-LM", ["income"]),
        ("s2", "LA-LM", ["income"]),
        ("s4", None, ["income"]),
    ]
    columns = {c for (c,) in _query(
        build,
        "select column_name from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'story_catalogue'",
    )}  # fmt: skip
    assert not columns & {"pseudonym", "person_age", "person_sex", "body", "residence_place"}


def test_country_dimension_carries_m49_regions(build: Build) -> None:
    rows = _query(
        build,
        "select country_iso3, m49_code, sub_region_name from marts.dim_countries"
        " where country_iso3 in ('CHN', 'THA', 'XXX') order by 1",
    )
    assert rows == [
        ("CHN", "156", "Eastern Asia"),
        ("THA", "764", "South-eastern Asia"),
        ("XXX", None, None),
    ]


def _docs_settings(build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = Settings(landing_dir=tmp_path / "landing", data_dir=tmp_path / "data")
    settings.internal_dir.mkdir(parents=True)
    shutil.copy(build.db_path, settings.internal_db)
    monkeypatch.setenv("FMW_INTERNAL_DB", "")  # restored after the test
    return settings


_WRITE_A_TABLE = (
    "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('CREATE TABLE main.probe (x INT)')"
)


def test_a_dbt_run_opens_the_database_once_and_releases_it_when_it_returns(
    build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbt.adapters.duckdb.environments import Environment

    settings = _docs_settings(build, tmp_path, monkeypatch)
    opened: list[str] = []
    initialize_db = Environment.__dict__["initialize_db"].__func__  # a classmethod

    def counted(cls: type, credentials: object, plugins: object) -> object:
        opened.append(str(credentials.path))  # type: ignore[attr-defined]
        return initialize_db(cls, credentials, plugins)

    monkeypatch.setattr(Environment, "initialize_db", classmethod(counted))

    # the staging models and their tests: a dozen nodes, run side by side on two threads
    results = run_dbt(settings, "build", select=("staging",))

    assert len(results) > 10
    assert opened == [settings.internal_db.name]
    # released: another process can write to it (DuckDB locks the file per process)
    subprocess.run(
        [sys.executable, "-c", _WRITE_A_TABLE, str(settings.internal_db)],
        check=True,
        timeout=60,
    )


def test_generate_docs_writes_one_static_site_with_the_column_docs(
    build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _docs_settings(build, tmp_path, monkeypatch)

    site = generate_docs(settings)

    assert site == settings.dbt_target_dir / "static_index.html"
    html = site.read_text(encoding="utf-8")
    assert "fms_origin_profile_quarterly" in html
    assert "Respondents from this area in the quarter" in html  # a column description


def test_the_docs_site_shows_the_sql_the_build_compiled_without_compiling_again(
    build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _docs_settings(build, tmp_path, monkeypatch)
    manifest = parse_project(settings)
    run_dbt(settings, "compile", manifest=manifest)  # compiles every node, as a whole build
    (settings.dbt_target_dir / "manifest.json").unlink()  # the compile wrote one
    compiles = DocsCompiles(monkeypatch)

    site = generate_docs(settings, built=manifest)

    assert compiles.count == 0
    written = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    fact = written["nodes"]["model.fmw.fct_fms_interviews"]["compiled_code"]
    assert '"intermediate"."int_fms_submission_versions"' in fact  # ref() resolved
    html = site.read_text(encoding="utf-8")  # the manifest inlined, as JSON
    assert '\\"intermediate\\".\\"int_fms_submission_versions\\"' in html


def test_the_docs_site_compiles_what_a_partial_build_left_uncompiled(
    build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _docs_settings(build, tmp_path, monkeypatch)
    manifest = parse_project(settings)
    run_dbt(settings, "compile", manifest=manifest)
    left_out = manifest.nodes["model.fmw.fct_fms_interviews"]  # as by a build of a few nodes
    left_out.compiled, left_out.compiled_code = False, None
    compiles = DocsCompiles(monkeypatch)

    site = generate_docs(settings, built=manifest)

    assert compiles.count == 1
    written = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    assert written["nodes"]["model.fmw.fct_fms_interviews"]["compiled_code"]
    assert site.is_file()
