"""The visual report of a refresh: one static, offline HTML page beside the published database.

`data/published/report/index.html` draws what analysts otherwise query: monthly flows by
direction and crossing point, the top corridors, where respondents live, income before and at
destination by sector, the registry's daily flows with their rolling sums, story coverage by
province and the run's quality verdict.

It is built from the database being published (the audited candidate, which becomes the
published file unchanged) and from nothing else, so suppression holds: every number drawn is a
published cell or a sum of published cells, labelled as such, and a suppressed cell is drawn
as suppressed, never as zero and never replaced by a number taken from anywhere else.

Charts are Vega-Lite specifications written with Vega-Altair, drawn in the browser by Vega,
whose JavaScript (flows/vega.py) is inlined into the page with the data: the page loads
nothing from anywhere, and works from a file, a share or a mail attachment.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import pandas as pd

from flows.config import Settings
from flows.vega import vega_bundle
from flows.warehouse.connection import connect
from flows.warehouse.lake import Lake, connect_lake
from flows.warehouse.permissions import readable_dir, readable_file

# Province labels: the English name, and the code where two provinces share it ("Viangchan"
# is both LA-VI and LA-VT in ISO 3166-2); charts sort and stack by label, so labels are unique.
PROVINCES = """
    provinces AS (
        SELECT adm1_code,
            CASE WHEN count(*) OVER (PARTITION BY name_en) > 1
                THEN name_en || ' (' || adm1_code || ')' ELSE name_en END AS province
        FROM marts.dim_provinces
    )
"""
DIRECTION_COLORS = alt.Scale(domain=["outflow", "inflow"], range=["#1f6fb4", "#e07b39"])
SUPPRESSED_COLOR = "#b8b8b8"
TOP_CORRIDORS = 15
CELLS_PER_SECTOR = 4


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str  # what it shows, in words
    note: str  # what is not drawn and why (suppression, missing tallies), and the source
    spec: dict[str, Any]
    rows: int  # data rows behind the chart


def report_path(published_dir: Path) -> Path:
    return published_dir / "report" / "index.html"


def publish_report(settings: Settings, staged: Path) -> Path:
    """Move a report drawn from the candidate to published/report/index.html, whole."""
    target = report_path(settings.published_dir)
    readable_dir(target.parent)
    os.replace(readable_file(staged), target)
    return target


def build_report(database: Path | Lake, target: Path, k: int, cache_dir: Path) -> Path:
    """Write the report of `database` (a published or about-to-be published file, or a lake's
    published catalog) to `target`, replacing any earlier one whole; return `target`."""
    with _connect_read_only(database) as connection:
        header = _header(connection)
        charts = [make(connection, k) for make in CHARTS]
    page = render_page(header, charts, vega_bundle(cache_dir).read_text(encoding="utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(readable_file(partial), target)  # a page for readers, whatever the umask
    return target


@contextmanager
def _connect_read_only(database: Path | Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(database, Lake):
        with connect_lake(replace(database, read_only=True)) as connection:
            yield connection
    else:
        with connect(database, read_only=True) as connection:
            yield connection


# --- the charts ----------------------------------------------------------------------------


def _frame(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return connection.execute(sql).fetchdf()


def monthly_flows(connection: duckdb.DuckDBPyConnection, k: int) -> Chart:
    data = _frame(
        connection,
        """
        SELECT c.month, c.direction,
            CASE c.direction WHEN 'outflow' THEN 'leaving Lao PDR (outflow)'
                ELSE 'returning (inflow)' END AS direction_label,
            p.fmp_name AS crossing_point, c.registry_individuals
        FROM marts.crossing_point_monthly AS c
        JOIN marts.dim_flow_monitoring_points AS p USING (fmp_code)
        WHERE c.registry_individuals IS NOT NULL
        ORDER BY ALL
        """,
    )
    (untallied,) = connection.execute(
        "SELECT count(*) FROM marts.crossing_point_monthly WHERE registry_individuals IS NULL"
    ).fetchone()
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month):O", title="month"),
            y=alt.Y("sum(registry_individuals):Q", title="people counted"),
            color=alt.Color(
                "crossing_point:N", title="crossing point", legend=alt.Legend(columns=2)
            ),
            column=alt.Column("direction_label:N", title=None),  # "leaving" sorts first
            tooltip=[
                alt.Tooltip("yearmonth(month):T", title="month"),
                alt.Tooltip("direction:N"),
                alt.Tooltip("crossing_point:N", title="crossing point"),
                alt.Tooltip("sum(registry_individuals):Q", title="people counted", format=","),
            ],
        )
        .properties(width=270, height=240)
    )
    return Chart(
        "monthly_flows",
        "Monthly flows by direction and crossing point",
        "People the Flow Monitoring Registry counted each month at each crossing point, leaving "
        "Lao PDR (outflow) and returning (inflow). Head counts by observers, not survey "
        "respondents: never suppressed.",
        f"{_plural(untallied, 'point-month')} with survey interviews but no tally sheet "
        "are not drawn. Source: marts.crossing_point_monthly.registry_individuals.",
        _spec(chart),
        len(data),
    )


def top_corridors(connection: duckdb.DuckDBPyConnection, k: int) -> Chart:
    data = _frame(
        connection,
        f"""
        WITH {PROVINCES}, corridors AS (
            SELECT direction, origin_adm1_code, dest_country_iso3,
                coalesce(sum(respondents), 0) AS published_respondents,
                count(*) FILTER (WHERE respondents IS NULL) AS suppressed_cells,
                count(*) AS cells
            FROM marts.fms_corridor_monthly
            GROUP BY ALL
        )
        SELECT c.*, p.province, d.name_en AS country,
            CASE c.direction WHEN 'outflow' THEN p.province || ' → ' || d.name_en
                ELSE d.name_en || ' → ' || p.province END AS corridor
        FROM corridors AS c
        LEFT JOIN provinces AS p ON p.adm1_code = c.origin_adm1_code
        LEFT JOIN marts.dim_countries AS d ON d.country_iso3 = c.dest_country_iso3
        WHERE c.published_respondents > 0
        ORDER BY c.published_respondents DESC, corridor
        LIMIT {TOP_CORRIDORS}
        """,
    )
    (hidden,) = connection.execute(
        "SELECT count(*) FROM (SELECT 1 FROM marts.fms_corridor_monthly GROUP BY direction, "
        "origin_adm1_code, dest_country_iso3 HAVING count(respondents) = 0)"
    ).fetchone()
    data["suppressed_label"] = [
        f"+ {_plural(n, 'suppressed month')}" if n else "" for n in data["suppressed_cells"]
    ]
    base = alt.Chart(data).encode(
        y=alt.Y("corridor:N", sort=list(data["corridor"]), title=None),
        tooltip=[
            alt.Tooltip("corridor:N"),
            alt.Tooltip("direction:N"),
            alt.Tooltip("published_respondents:Q", title="respondents (published)", format=","),
            alt.Tooltip("suppressed_cells:Q", title=f"months suppressed (< {k})"),
        ],
    )
    bars = base.mark_bar().encode(
        x=alt.X("published_respondents:Q", title="survey respondents in published months"),
        color=alt.Color("direction:N", scale=DIRECTION_COLORS),
    )
    labels = base.mark_text(align="left", dx=4, color="#555").encode(
        x="published_respondents:Q", text="suppressed_label:N"
    )
    return Chart(
        "top_corridors",
        "Top corridors",
        f"The {TOP_CORRIDORS} origin province → destination country corridors (destination → "
        "province for people returning) with the most survey respondents, summed over the "
        "months published for each.",
        f"A month with fewer than k = {k} respondents in a corridor is suppressed: it counts "
        "in no bar, and the label says how many months each corridor has suppressed, so a bar "
        f"is a lower bound. {_plural(hidden, 'corridor')} with every month suppressed "
        "are not drawn. Source: marts.fms_corridor_monthly.respondents.",
        _spec((bars + labels).properties(width=400, height=alt.Step(22))),
        len(data),
    )


def residence_provinces(connection: duckdb.DuckDBPyConnection, k: int) -> Chart:
    data = _frame(
        connection,
        f"""
        WITH {PROVINCES}
        SELECT coalesce(p.province, s.adm1_code) AS province, s.respondents,
            s.respondents IS NULL AS suppressed
        FROM marts.story_coverage AS s
        LEFT JOIN provinces AS p USING (adm1_code)
        ORDER BY s.respondents DESC NULLS LAST, province
        """,
    )
    data["shown"] = data["respondents"].fillna(0)
    data["label"] = [f"suppressed (< {k})" if s else "" for s in data["suppressed"]]
    order = list(data["province"])
    base = alt.Chart(data).encode(
        y=alt.Y("province:N", sort=order, title=None),
        tooltip=[
            alt.Tooltip("province:N"),
            alt.Tooltip("respondents:Q", format=","),
            alt.Tooltip("suppressed:N"),
        ],
    )
    bars = base.mark_bar(color="#1f6fb4").encode(
        x=alt.X("shown:Q", title="survey respondents (all months)")
    )
    labels = base.mark_text(align="left", dx=4, color="#777", fontStyle="italic").encode(
        x="shown:Q", text="label:N"
    )
    return Chart(
        "residence_provinces",
        "Where respondents come from",
        "Survey respondents by Lao province of usual residence, over every month, largest first.",
        f"A province with fewer than k = {k} respondents is suppressed and drawn as a labelled "
        "empty bar, not as zero. Source: marts.story_coverage.respondents.",
        _spec((bars + labels).properties(width=440, height=alt.Step(20))),
        len(data),
    )


def income_by_sector(connection: duckdb.DuckDBPyConnection, k: int) -> Chart:
    cells = _frame(
        connection,
        f"""
        WITH {PROVINCES}, published AS (
            SELECT u.*, row_number() OVER (
                    PARTITION BY sector_destination ORDER BY respondents DESC,
                    origin_adm1_code, dest_country_iso3, direction) AS rank_in_sector
            FROM marts.fms_income_uplift AS u
            WHERE NOT suppressed AND median_income_before_usd IS NOT NULL
                AND median_income_destination_usd IS NOT NULL
        )
        SELECT u.sector_destination AS sector, u.direction, u.respondents, u.income_ratio,
            u.median_income_before_usd AS before_usd,
            u.median_income_destination_usd AS destination_usd,
            CASE u.direction WHEN 'outflow' THEN p.province || ' → ' || d.name_en
                ELSE d.name_en || ' → ' || p.province END AS corridor
        FROM published AS u
        LEFT JOIN provinces AS p ON p.adm1_code = u.origin_adm1_code
        LEFT JOIN marts.dim_countries AS d ON d.country_iso3 = u.dest_country_iso3
        WHERE rank_in_sector <= {CELLS_PER_SECTOR}
        ORDER BY sector, respondents DESC, corridor
        """,
    )
    (suppressed,) = connection.execute(
        "SELECT count(*) FROM marts.fms_income_uplift WHERE suppressed "
        "OR median_income_before_usd IS NULL OR median_income_destination_usd IS NULL"
    ).fetchone()
    cells["cell"] = cells["sector"].str.replace("_", " ") + " · " + cells["corridor"]
    points = cells.melt(
        id_vars=["cell", "sector", "corridor", "direction", "respondents", "income_ratio"],
        value_vars=["before_usd", "destination_usd"],
        var_name="when",
        value_name="usd",
    )
    points["when"] = points["when"].map(
        {"before_usd": "before leaving", "destination_usd": "at destination"}
    )
    order = list(cells["cell"])
    tooltip = [
        alt.Tooltip("sector:N"),
        alt.Tooltip("corridor:N"),
        alt.Tooltip("respondents:Q"),
        alt.Tooltip("income_ratio:Q", title="destination / before", format=".1f"),
    ]
    rules = (
        alt.Chart(cells)
        .mark_rule(color="#999")
        .encode(
            y=alt.Y("cell:N", sort=order, title=None),
            x=alt.X("before_usd:Q", title="median monthly income, USD"),
            x2="destination_usd:Q",
            tooltip=tooltip,
        )
    )
    dots = (
        alt.Chart(points)
        .mark_circle(size=90, opacity=1)
        .encode(
            y=alt.Y("cell:N", sort=order, title=None),
            x="usd:Q",
            color=alt.Color(
                "when:N",
                title=None,
                scale=alt.Scale(
                    domain=["before leaving", "at destination"], range=["#8c8c8c", "#2a9d55"]
                ),
            ),
            tooltip=[*tooltip, alt.Tooltip("when:N"), alt.Tooltip("usd:Q", format=",.0f")],
        )
    )
    return Chart(
        "income_by_sector",
        "Income before leaving and at destination, by sector",
        "Median monthly income before leaving and at destination (expected, for people leaving; "
        "earned, for people returning), in USD at each interview month's rate, for the "
        f"{CELLS_PER_SECTOR} corridors with the most respondents in each sector at destination.",
        f"Medians are published per corridor and sector only, and cannot be combined; "
        f"{_plural(suppressed, 'corridor-sector cell')} with fewer than k = {k} respondents "
        "(or no income reported) are suppressed and not drawn. Source: marts.fms_income_uplift.",
        _spec((rules + dots).properties(width=360, height=alt.Step(16))),
        len(cells),
    )


def registry_daily(connection: duckdb.DuckDBPyConnection, k: int) -> Chart:
    data = _frame(
        connection,
        """
        SELECT date, direction, sum(individuals) AS individuals,
            sum(individuals_7d) AS individuals_7d, sum(individuals_28d) AS individuals_28d
        FROM marts.fmr_flows_rolling
        GROUP BY ALL
        ORDER BY ALL
        """,
    )
    x = alt.X("date:T", title=None)
    color = alt.Color("direction:N", scale=DIRECTION_COLORS)
    daily = (
        alt.Chart(data)
        .mark_line(strokeWidth=1)
        .encode(
            x=x,
            y=alt.Y("individuals:Q", title="people per day"),
            color=color,
            tooltip=[
                alt.Tooltip("date:T"),
                alt.Tooltip("direction:N"),
                alt.Tooltip("individuals:Q", format=","),
            ],
        )
        .properties(width=560, height=150)
    )
    windows = data.melt(
        id_vars=["date", "direction"],
        value_vars=["individuals_7d", "individuals_28d"],
        var_name="window",
        value_name="people",
    )
    windows["window"] = windows["window"].map(
        {"individuals_7d": "7 days", "individuals_28d": "28 days"}
    )
    rolling = (
        alt.Chart(windows)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("people:Q", title="rolling sum"),
            color=color,
            strokeDash=alt.StrokeDash("window:N", sort=["7 days", "28 days"]),
            tooltip=[
                alt.Tooltip("date:T"),
                alt.Tooltip("direction:N"),
                alt.Tooltip("window:N"),
                alt.Tooltip("people:Q", format=","),
            ],
        )
        .properties(width=560, height=200)
    )
    return Chart(
        "registry_daily",
        "Registry: daily flows and rolling sums",
        "People the registry counted each day at all crossing points together, by direction, "
        "and the 7- and 28-day rolling sums of those counts.",
        "A day without a tally sheet at a point counts as 0 in the rolling sums (the mart's "
        "tally_days_* columns say how many days had one). Head counts: never suppressed. "
        "Source: marts.fmr_flows_rolling.",
        _spec(alt.vconcat(daily, rolling).resolve_scale(color="shared")),
        len(data),
    )


def story_coverage(connection: duckdb.DuckDBPyConnection, k: int) -> Chart:
    data = _frame(
        connection,
        f"""
        WITH {PROVINCES}
        SELECT coalesce(p.province, s.adm1_code) AS province, s.public_stories, s.respondents
        FROM marts.story_coverage AS s
        LEFT JOIN provinces AS p USING (adm1_code)
        ORDER BY s.public_stories DESC, s.respondents DESC NULLS LAST, province
        """,
    )
    data["respondents_label"] = [
        f"suppressed (< {k})" if pd.isna(n) else f"{int(n):,} respondents"
        for n in data["respondents"]
    ]
    data["coverage"] = ["no story yet" if n == 0 else "stories" for n in data["public_stories"]]
    order = list(data["province"])
    base = alt.Chart(data).encode(
        y=alt.Y("province:N", sort=order, title=None),
        tooltip=[
            alt.Tooltip("province:N"),
            alt.Tooltip("public_stories:Q", title="public stories"),
            alt.Tooltip("respondents_label:N", title="survey respondents"),
        ],
    )
    bars = base.mark_bar().encode(
        x=alt.X("public_stories:Q", title="public stories", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color(
            "coverage:N",
            title=None,
            scale=alt.Scale(domain=["stories", "no story yet"], range=["#6a4c93", "#d9534f"]),
        ),
    )
    points = base.mark_point(shape="diamond", filled=True, color="#d9534f", size=60).encode(
        x="public_stories:Q",
        opacity=alt.condition(alt.datum.public_stories == 0, alt.value(1), alt.value(0)),
    )
    labels = base.mark_text(align="left", dx=8, color="#555").encode(
        x="public_stories:Q", text="respondents_label:N"
    )
    return Chart(
        "story_coverage",
        "Story coverage by province",
        "Public migrant stories whose teller lives in each Lao province, next to the number of "
        "survey respondents from there: provinces many people leave from but no story tells of "
        "are marked.",
        f"Stories with internal consent are never counted. Respondents below k = {k} are "
        "suppressed and labelled so. Source: marts.story_coverage.",
        _spec((bars + points + labels).properties(width=420, height=alt.Step(20))),
        len(data),
    )


def quality_verdict(connection: duckdb.DuckDBPyConnection, k: int) -> Chart:
    data = _frame(
        connection,
        """
        SELECT split_part(suite, ':', 1) AS suite,
            CASE WHEN success IS NULL THEN 'not evaluated'
                WHEN success THEN 'passed'
                WHEN severity = 'critical' THEN 'failed (critical)'
                ELSE 'failed (warning)' END AS verdict,
            CASE WHEN success IS NULL THEN 3 WHEN success THEN 0
                WHEN severity = 'critical' THEN 2 ELSE 1 END AS verdict_rank,
            count(*) AS checks
        FROM ops.quality_results
        WHERE run_id = (SELECT max(run_id) FROM ops.quality_results)
        GROUP BY ALL
        ORDER BY ALL
        """,
    )
    verdicts = ["passed", "failed (warning)", "failed (critical)", "not evaluated"]
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("suite:N", title=None),
            x=alt.X("sum(checks):Q", title="checks"),
            color=alt.Color(
                "verdict:N",
                title=None,
                scale=alt.Scale(
                    domain=verdicts, range=["#2a9d55", "#e0a800", "#d9534f", "#7b4fb0"]
                ),
            ),
            order=alt.Order("verdict_rank:Q"),
            tooltip=[alt.Tooltip("suite:N"), alt.Tooltip("verdict:N"), alt.Tooltip("checks:Q")],
        )
        .properties(width=440, height=alt.Step(22))
    )
    return Chart(
        "quality_verdict",
        "Quality verdict",
        "The Great Expectations checks of this refresh, by suite: the raw layer, the contract "
        "tables, and the checks every published table passes (direct identifiers, k, row "
        "counts). A critical failure would have stopped this database from being published.",
        "Source: ops.quality_results of the run that produced this database; every check's "
        "observed value is in that table, the details in the internal Data Docs.",
        _spec(chart),
        len(data),
    )


CHARTS: tuple[Callable[[duckdb.DuckDBPyConnection, int], Chart], ...] = (
    monthly_flows,
    top_corridors,
    residence_provinces,
    income_by_sector,
    registry_daily,
    story_coverage,
    quality_verdict,
)


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite specification, legends below it (the cards are narrow)."""
    return chart.configure_legend(orient="bottom").configure_view(stroke=None).to_dict()


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


# --- the page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    run_id: str
    built_at: str
    verdict: str
    files: str


def _header(connection: duckdb.DuckDBPyConnection) -> Header:
    (run_id, passed, total, blocking) = connection.execute(
        """
        SELECT run_id, count(*) FILTER (WHERE success), count(*),
            count(*) FILTER (WHERE severity = 'critical' AND success IS NOT TRUE)
        FROM ops.quality_results
        WHERE run_id = (SELECT max(run_id) FROM ops.quality_results)
        GROUP BY run_id
        """
    ).fetchone() or ("(none)", 0, 0, 0)
    (files, loaded, failed) = connection.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'loaded'), "
        "count(*) FILTER (WHERE status = 'failed') FROM ops.file_loads"
    ).fetchone()
    verdict = f"{passed} of {total} quality checks passed"
    if blocking:
        verdict += f", {blocking} critical not passed"
    return Header(
        run_id=run_id,
        built_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        verdict=verdict,
        files=f"{files:,} landing files seen, {loaded:,} loaded, {failed:,} failed",
    )


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #1d2733; background: #f5f6f8; }
header { background: #0f3c64; color: #fff; padding: 1.2em 2em; }
header h1 { margin: 0 0 .3em; font-size: 1.5em; }
header p { margin: .15em 0; opacity: .9; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(640px, 1fr)); gap: 1.2em;
  padding: 1.2em 2em 2em; }
figure.chart { background: #fff; margin: 0; padding: 1em 1.2em; border-radius: 6px;
  box-shadow: 0 1px 3px rgba(0,0,0,.12); overflow-x: auto; }
figure.chart h2 { font-size: 1.1em; margin: 0 0 .3em; }
figure.chart p { margin: 0 0 .6em; color: #46505c; font-size: .92em; }
figure.chart figcaption { color: #6b7480; font-size: .82em; margin-top: .5em; }
figure.chart.empty .vega { color: #6b7480; font-style: italic; padding: 2em 0; }
footer { padding: 0 2em 2em; color: #6b7480; font-size: .85em; }
"""

_SCRIPT = """
const figures = Array.from(document.querySelectorAll('figure.chart'));
const drawn = figures.map((figure) => {
  const spec = SPECS[figure.dataset.key];
  if (!spec) { figure.dataset.rendered = 'empty'; return Promise.resolve(); }
  return vegaEmbed(figure.querySelector('.vega'), spec, {renderer: 'svg', actions: false})
    .then(() => {
      figure.dataset.marks = figure.querySelectorAll('g.role-mark > *').length;
      figure.dataset.rendered = 'true';
    })
    .catch((error) => {
      figure.dataset.rendered = 'error';
      figure.querySelector('.vega').textContent = 'This chart could not be drawn: ' + error;
      console.error(error);
    });
});
Promise.all(drawn).then(() => { document.body.dataset.charts = 'done'; });
"""


def render_page(header: Header, charts: list[Chart], bundle: str) -> str:
    specs = {c.key: c.spec for c in charts if c.rows}
    figures = "\n".join(_figure(c) for c in charts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flow Monitoring Warehouse — refresh {html.escape(header.run_id)}</title>
<style>{_STYLE}</style>
<script>{_script_safe(bundle)}</script>
</head>
<body>
<header>
<h1>Flow Monitoring Warehouse — Lao PDR</h1>
<p>Published by refresh <b>{html.escape(header.run_id)}</b>; report built {header.built_at}.</p>
<p>{html.escape(header.verdict)}; {html.escape(header.files)}.</p>
</header>
<main>
{figures}
</main>
<footer>Every number is read from the published database
(<code>data/published/warehouse.duckdb</code>): a suppressed cell is shown as suppressed,
never as zero. Hover a mark for its values.</footer>
<script>const SPECS = {_script_safe(json.dumps(specs, default=str))};
{_SCRIPT}</script>
</body>
</html>
"""


def _figure(chart: Chart) -> str:
    empty = "" if chart.rows else " empty"
    body = "" if chart.rows else "Nothing published for this chart yet."
    return (
        f'<figure class="chart{empty}" id="chart-{chart.key}" data-key="{chart.key}" '
        f'data-rows="{chart.rows}">\n<h2>{html.escape(chart.title)}</h2>\n'
        f'<p>{html.escape(chart.description)}</p>\n<div class="vega">{body}</div>\n'
        f"<figcaption>{html.escape(chart.note)}</figcaption>\n</figure>"
    )


def _script_safe(text: str) -> str:
    """Script text that cannot end the <script> element it is inlined in ("<\\/" is "</" in
    every place a script may hold "</script": strings, regular expressions, comments)."""
    return _END_OF_SCRIPT.sub(r"<\\/\1", text)


_END_OF_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)
