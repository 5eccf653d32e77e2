"""End to end on a generated landing zone: the published marts equal what the generator
says it wrote, every row is accounted for, and no direct identifier is stored anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.publish.report import CHARTS
from tests.helpers.browser import visit

pytestmark = pytest.mark.slow

K = 5


@pytest.fixture(scope="module")
def refreshed(sample_refresh: dict[str, object]) -> dict[str, object]:
    """The session's refresh of an 800-survey sample (tests/conftest.py): read, never changed."""
    return sample_refresh


def _published(refreshed: dict[str, object]) -> duckdb.DuckDBPyConnection:
    path = Path(str(refreshed["root"])) / "data" / "published" / "warehouse.duckdb"
    return duckdb.connect(str(path), read_only=True)


def _check_corridor_cell(
    truth: tuple[int, int], published: tuple[int | None, int | None, bool]
) -> None:
    """The published contract's rule, restated independently of the protection pass: a
    published count is the true one and at least k, a count below k (or a female count
    whose remainder is below k) is never published, and `suppressed` says the count is
    withheld. Cells of k or more may be withheld too (secondary suppression)."""
    true_respondents, true_female = truth
    respondents, female, suppressed = published
    assert suppressed == (respondents is None)
    if true_respondents < K:
        assert respondents is None
    if respondents is not None:
        assert respondents == true_respondents
    if true_female < K or true_respondents - true_female < K:
        assert female is None
    if female is not None:
        assert respondents is not None and female == true_female


def test_the_refresh_publishes(refreshed):
    assert refreshed["outcome"].status == "published"


def test_corridor_mart_equals_the_generators_record(refreshed):
    truth = {
        (
            cell["month"],
            cell["direction"],
            cell["origin_adm1_code"],
            "XXX" if cell["dest_country_iso3"] == "other" else cell["dest_country_iso3"],
        ): (cell["respondents"], cell["female_respondents"])
        for cell in refreshed["manifest"]["fms_corridor_monthly"]
    }
    with _published(refreshed) as con:
        rows = con.execute(
            "SELECT strftime(month, '%Y-%m-%d'), direction, origin_adm1_code, dest_country_iso3, "
            "respondents, female_respondents, suppressed FROM marts.fms_corridor_monthly"
        ).fetchall()
    published = {tuple(row[:4]): tuple(row[4:]) for row in rows}
    assert len(rows) == len(published)
    assert published.keys() == truth.keys()
    for key, cell in published.items():
        _check_corridor_cell(truth[key], cell)


def test_registry_mart_equals_the_generators_record(refreshed):
    expected = {
        (d["date"], d["fmp_code"], d["direction"]): d["individuals"]
        for d in refreshed["manifest"]["fmr_daily_flows"]
    }
    with _published(refreshed) as con:
        rows = con.execute(
            "SELECT strftime(date, '%Y-%m-%d'), fmp_code, direction, individuals "
            "FROM marts.fmr_daily_flows"
        ).fetchall()
    assert {(d, f, w): n for d, f, w, n in rows} == expected


def test_story_coverage_counts_public_stories_by_resolved_residence(refreshed):
    expected = refreshed["manifest"]["public_stories_by_adm1"]
    with _published(refreshed) as con:
        rows = con.execute(
            "SELECT adm1_code, public_stories FROM marts.story_coverage WHERE public_stories > 0"
        ).fetchall()
    assert dict(rows) == expected


def test_every_landing_file_is_accounted_for_row_by_row(refreshed):
    manifest = refreshed["manifest"]
    with _published(refreshed) as con:
        loads = con.execute(
            "SELECT source, file_name, rows_read, rows_loaded, rows_duplicate, rows_quarantined, "
            "status FROM ops.file_loads"
        ).fetchall()
    by_name = {(source, name): rest for source, name, *rest in loads}
    for written in manifest["files"]:
        if written["source"] == "stories":
            continue
        read, loaded, duplicate, quarantined, status = by_name[(written["source"], written["name"])]
        assert read == loaded + duplicate + quarantined
        assert read == written["rows"], written["name"]
        if written.get("duplicate_of"):
            assert status == "skipped_same_bytes"
        else:
            assert (status, quarantined) == ("loaded", len(written["bad_rows"])), written["name"]


def test_quarantined_rows_name_file_row_and_column(refreshed):
    root = Path(str(refreshed["root"]))
    expected = {
        (f["name"], bad["row"], bad["column"].split("/")[-1])
        for f in refreshed["manifest"]["files"]
        if f["source"] in {"fms", "fmr"} and not f.get("duplicate_of")
        for bad in f["bad_rows"]
    }
    with duckdb.connect(
        str(root / "data" / "internal" / "warehouse.duckdb"), read_only=True
    ) as con:
        rows = con.execute(
            "SELECT file_name, row_number, column_name FROM quarantine.rows "
            "WHERE source IN ('fms', 'fmr')"
        ).fetchall()
    assert expected <= {(f, r, c.split("/")[-1] if c else c) for f, r, c in rows}
    assert {(f, r) for f, r, _ in rows} == {(f, r) for f, r, _ in expected}


def _text_of_tables(path: Path, skip_stories: bool) -> str:
    chunks = []
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary"
        ).fetchall()
        for schema, table in tables:
            if skip_stories and "stor" in table:
                continue
            rows = con.execute(f'SELECT CAST(t AS VARCHAR) FROM "{schema}"."{table}" AS t')
            chunks.extend(r[0] for r in rows.fetchall())
    return "\n".join(chunks)


def test_no_direct_identifier_is_stored_in_any_database_the_project_writes(refreshed):
    root = Path(str(refreshed["root"]))
    identifiers = refreshed["manifest"]["direct_identifiers"]
    unique = {str(v) for kind in ("deviceid", "phone", "gps") for v in identifiers[kind]} | {
        str(v) for v in identifiers["gps_latitude"] + identifiers["gps_longitude"]
    }
    # Names and villages are common words: a story may use one as a pseudonym or a place,
    # so they are looked for everywhere except in the story tables.
    common = {str(v) for kind in ("respondent_name", "origin_village") for v in identifiers[kind]}
    databases = sorted((root / "data").rglob("*.duckdb"))
    assert len(databases) >= 3  # internal, published, a snapshot
    for database in databases:
        everything = _text_of_tables(database, skip_stories=False)
        found = sorted(s for s in unique if s in everything)
        without_stories = _text_of_tables(database, skip_stories=True)
        found += sorted(s for s in common if s in without_stories)
        assert found == [], f"{database} holds {found[:5]}"


def test_the_manifest_is_written_beside_the_landing_zone(refreshed):
    manifest_path = Path(str(refreshed["root"])) / "landing" / "sample_manifest.json"
    assert json.loads(manifest_path.read_text())["surveys"] == 800


def test_every_published_table_and_column_carries_its_description(refreshed):
    """What an analyst sees in the DuckDB CLI: dbt's descriptions as comments."""
    database = Path(str(refreshed["outcome"].published_db))
    duckdb_cli = Path(sys.executable).parent / "duckdb"

    def query(sql: str) -> list[str]:
        result = subprocess.run(
            [str(duckdb_cli), "-readonly", "-csv", "-noheader", str(database), sql],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout.splitlines()

    published = "schema_name IN ('marts', 'ops')"
    assert query(f"SELECT count(*) FROM duckdb_columns() WHERE {published}") > ["100"]
    assert query(f"SELECT table_name, column_name FROM duckdb_columns() WHERE {published} "
                 "AND comment IS NULL") == []  # fmt: skip
    assert (
        query(f"SELECT table_name FROM duckdb_tables() WHERE {published} AND comment IS NULL") == []
    )
    (respondents,) = query(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'fms_corridor_monthly' "
        "AND column_name = 'respondents'"
    )
    assert "NULL" in respondents and "k" in respondents


def test_the_report_renders_every_chart_with_data_in_chromium(refreshed):
    root = Path(str(refreshed["root"]))
    report = root / "data" / "published" / "report" / "index.html"
    assert refreshed["outcome"].report == str(report)

    seen = visit(
        report,
        ready="body[data-charts=done]",
        evaluate="Array.from(document.querySelectorAll('figure.chart')).map(f => "
        "[f.dataset.key, Number(f.dataset.rows), f.dataset.rendered, Number(f.dataset.marks)])",
        screenshot=root / "report.png",
    )

    assert seen.console_errors == [] and seen.page_errors == []
    assert seen.requests == [report.resolve().as_uri()]  # everything is inlined
    charts = {key: (rows, rendered, marks) for key, rows, rendered, marks in seen.evaluated}
    assert list(charts) == [make.__name__ for make in CHARTS]
    for key, (rows, rendered, marks) in charts.items():
        assert rendered == "true" and rows > 0 and marks > 0, key


def test_the_report_holds_no_direct_identifier(refreshed):
    root = Path(str(refreshed["root"]))
    text = (root / "data" / "published" / "report" / "index.html").read_text(encoding="utf-8")
    identifiers = refreshed["manifest"]["direct_identifiers"]
    unique = {str(v) for kind in ("deviceid", "phone", "gps") for v in identifiers[kind]}
    assert sorted(s for s in unique if s in text) == []
