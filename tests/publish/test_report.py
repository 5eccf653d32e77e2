"""Specification of flows.publish.report: the visual report draws the published marts and
nothing else, shows suppressed cells as suppressed, and loads nothing from anywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.cli import main
from flows.config import resolve_settings
from flows.publish import report
from flows.publish.release import publish_candidate
from flows.publish.report import build_report, report_path
from flows.quality.data_docs import external_resources

K = 5
TABLES = {
    "marts.dim_provinces": (
        "adm1_code VARCHAR, name_en VARCHAR",
        [
            ("LA-LM", "Louang Namtha"),
            ("LA-VI", "Viangchan"),
            ("LA-VT", "Viangchan"),
            ("LA-XE", "Xékong"),
        ],
    ),
    "marts.dim_countries": (
        "country_iso3 VARCHAR, name_en VARCHAR",
        [("CHN", "China"), ("THA", "Thailand")],
    ),
    "marts.dim_flow_monitoring_points": (
        "fmp_code VARCHAR, fmp_name VARCHAR",
        [("LAO_FMP_001", "Boten"), ("LAO_FMP_005", "Friendship Bridge")],
    ),
    "marts.crossing_point_monthly": (
        "month DATE, fmp_code VARCHAR, direction VARCHAR, registry_individuals BIGINT",
        [
            ("2026-01-01", "LAO_FMP_001", "outflow", 700),
            ("2026-01-01", "LAO_FMP_001", "inflow", 300),
            ("2026-02-01", "LAO_FMP_005", "outflow", 800),
            ("2026-02-01", "LAO_FMP_005", "inflow", None),
        ],
    ),
    "marts.fms_corridor_monthly": (
        "month DATE, direction VARCHAR, origin_adm1_code VARCHAR, dest_country_iso3 VARCHAR, "
        "respondents BIGINT, suppressed BOOLEAN",
        [
            ("2026-01-01", "outflow", "LA-LM", "CHN", 10, False),
            ("2026-02-01", "outflow", "LA-LM", "CHN", None, True),
            ("2026-03-01", "outflow", "LA-LM", "CHN", 7, False),
            ("2026-01-01", "outflow", "LA-VI", "THA", 6, False),
            ("2026-01-01", "outflow", "LA-VT", "THA", 9, False),
            ("2026-01-01", "inflow", "LA-XE", "THA", None, True),
            ("2026-02-01", "inflow", "LA-XE", "THA", None, True),
        ],
    ),
    "marts.story_coverage": (
        "adm1_code VARCHAR, public_stories BIGINT, respondents BIGINT",
        [("LA-LM", 3, 17), ("LA-VI", 0, 6), ("LA-VT", 1, 9), ("LA-XE", 0, None)],
    ),
    "marts.fms_income_uplift": (
        "direction VARCHAR, origin_adm1_code VARCHAR, dest_country_iso3 VARCHAR, "
        "sector_destination VARCHAR, respondents BIGINT, median_income_before_usd DOUBLE, "
        "median_income_destination_usd DOUBLE, income_ratio DOUBLE, suppressed BOOLEAN",
        [
            ("outflow", "LA-LM", "CHN", "agriculture", 10, 90.0, 450.0, 5.0, False),
            ("outflow", "LA-VT", "THA", "construction", None, None, None, None, True),
        ],
    ),
    "marts.fmr_flows_rolling": (
        "date DATE, fmp_code VARCHAR, direction VARCHAR, individuals BIGINT, "
        "individuals_7d BIGINT, individuals_28d BIGINT",
        [
            ("2026-01-01", "LAO_FMP_001", "outflow", 20, 20, 20),
            ("2026-01-01", "LAO_FMP_005", "outflow", 30, 30, 30),
            ("2026-01-02", "LAO_FMP_001", "outflow", 10, 30, 30),
        ],
    ),
    "ops.quality_results": (
        "run_id VARCHAR, suite VARCHAR, check_name VARCHAR, severity VARCHAR, success BOOLEAN, "
        "observed VARCHAR",
        [
            ("r2", "raw_fms_submissions", "a", "critical", True, "0"),
            ("r2", "published_table:marts.dim_provinces", "k", "critical", True, "0"),
            ("r2", "raw_stories", "b", "warning", False, "1"),
            ("r1", "raw_stories", "b", "warning", None, "boom"),
        ],
    ),
    "ops.file_loads": ("status VARCHAR", [("loaded",), ("failed",)]),
    "ops.runs": (
        "run_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR",
        [("r2", "2026-03-02 02:00:00", None, "running")],
    ),
}


def published(path: Path, **replaced: list[tuple[Any, ...]]) -> Path:
    with duckdb.connect(str(path)) as connection:
        for table, (columns, rows) in TABLES.items():
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
            connection.execute(f"CREATE TABLE {table} ({columns})")
            rows = replaced.get(table.replace(".", "__"), rows)
            if rows:
                marks = ", ".join("?" for _ in rows[0])
                connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    return path


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return published(tmp_path / "published.duckdb")


def chart_data(database: Path, make) -> tuple[report.Chart, list[dict[str, Any]]]:  # noqa: ANN001
    with duckdb.connect(str(database), read_only=True) as connection:
        chart = make(connection, K)
    rows = [row for values in chart.spec.get("datasets", {}).values() for row in values]
    return chart, rows


def test_a_suppressed_province_is_drawn_as_suppressed_never_as_zero(database: Path) -> None:
    chart, rows = chart_data(database, report.residence_provinces)

    xekong = [r for r in rows if r["province"] == "Xékong"]
    assert xekong == [
        {
            "province": "Xékong",
            "respondents": None,
            "suppressed": True,
            "shown": 0.0,
            "label": "suppressed (< 5)",
        }
    ]
    assert "suppressed and drawn as a labelled empty bar" in chart.note


def test_two_provinces_that_share_a_name_are_told_apart_by_their_codes(database: Path) -> None:
    _, rows = chart_data(database, report.residence_provinces)

    assert {r["province"] for r in rows} == {
        "Louang Namtha",
        "Viangchan (LA-VI)",
        "Viangchan (LA-VT)",
        "Xékong",
    }


def test_corridor_bars_sum_only_published_months_and_say_how_many_are_suppressed(
    database: Path,
) -> None:
    chart, rows = chart_data(database, report.top_corridors)

    bars = {r["corridor"]: (r["published_respondents"], r["suppressed_label"]) for r in rows}
    assert bars == {
        "Louang Namtha → China": (17, "+ 1 suppressed month"),
        "Viangchan (LA-VT) → Thailand": (9, ""),
        "Viangchan (LA-VI) → Thailand": (6, ""),
    }
    # a corridor with every month suppressed has no bar, and the note says so
    assert "1 corridor with every month suppressed" in chart.note


def test_income_shows_published_cells_only(database: Path) -> None:
    chart, rows = chart_data(database, report.income_by_sector)

    assert {r.get("corridor") for r in rows} == {"Louang Namtha → China"}
    assert "1 corridor-sector cell with fewer than k = 5" in chart.note


def test_monthly_flows_leave_out_point_months_without_a_tally(database: Path) -> None:
    chart, rows = chart_data(database, report.monthly_flows)

    assert sorted(r["registry_individuals"] for r in rows) == [300, 700, 800]
    assert chart.note.startswith("1 point-month with survey interviews but no tally sheet")


def test_the_quality_verdict_is_that_of_the_run_that_produced_the_database(
    database: Path,
) -> None:
    _, rows = chart_data(database, report.quality_verdict)

    assert {(r["suite"], r["verdict"], r["checks"]) for r in rows} == {
        ("raw_fms_submissions", "passed", 1),
        ("published_table", "passed", 1),
        ("raw_stories", "failed (warning)", 1),
    }


def test_the_page_holds_its_scripts_and_data_and_loads_nothing(
    database: Path, tmp_path: Path
) -> None:
    page = build_report(database, tmp_path / "report" / "index.html", K, tmp_path / "cache")

    text = page.read_text(encoding="utf-8")
    assert external_resources(text) == []  # no script, stylesheet, image or font from elsewhere
    assert "window.vegaEmbed=" in text  # the Vega bundle, inlined
    keys = re.findall(r'data-key="([a-z_]+)" data-rows="(\d+)"', text)
    assert [key for key, _ in keys] == [make.__name__ for make in report.CHARTS]
    assert all(int(rows) > 0 for _, rows in keys)


def test_a_mart_with_nothing_published_gives_an_empty_chart_that_says_so(
    tmp_path: Path,
) -> None:
    database = published(tmp_path / "empty.duckdb", marts__fmr_flows_rolling=[])

    page = build_report(database, tmp_path / "index.html", K, tmp_path / "cache").read_text()

    assert '<figure class="chart empty" id="chart-registry_daily"' in page
    assert "Nothing published for this chart yet." in page
    assert '"registry_daily"' not in page.split("const SPECS = ", 1)[1]


def test_a_rollback_redraws_the_report_from_the_database_it_republishes(tmp_path: Path) -> None:
    settings = resolve_settings(data_dir=tmp_path / "data")
    for run_id in ("20260301T020000Z-aaaaaa", "20260302T020000Z-bbbbbb"):
        results = [(run_id, *row[1:]) for row in TABLES["ops.quality_results"][1]]
        runs = [(run_id, "2026-03-01 02:00:00", None, "running")]
        candidate = settings.candidates_dir / f"{run_id}.duckdb"
        candidate.parent.mkdir(parents=True, exist_ok=True)
        published(candidate, ops__quality_results=results, ops__runs=runs)
        publish_candidate(settings, candidate, run_id)

    assert main(["rollback", "--data-dir", str(settings.data_dir)]) == 0

    page = report_path(settings.published_dir).read_text(encoding="utf-8")
    assert "Published by refresh <b>20260301T020000Z-aaaaaa</b>" in page
