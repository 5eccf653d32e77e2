"""The audit of the project's own publication, on a generated landing zone.

With the protection pass deciding every mart's cells together, the gated refresh publishes
and the audit finds nothing in it. (Before that pass, each table suppressed on its own, the
audit found exact disclosures here and the gate blocked the refresh; the gate's own tests
plant such a disclosure.)
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.disclosure.audit import AuditReport, audit_database
from flows.nightly import nightly_refresh

pytestmark = pytest.mark.slow

K = 5

# the published count cells the audit must bound, one per row: table -> count columns
COUNTED = {
    "marts.fms_corridor_monthly": ["respondents", "female_respondents"],
    "marts.fms_safe_migration_quarterly": ["respondents"],
    "marts.fms_origin_profile_quarterly": ["respondents"],
    "marts.story_coverage": ["respondents"],
    "marts.crossing_point_monthly": [
        "respondents",
        "passport_holders",
        "border_pass_holders",
        "work_permit_holders",
    ],
    "marts.fms_refusals_monthly": ["people_approached", "refusals"],
    "marts.fms_income_uplift": ["respondents"],
}

BASES = [
    (
        "marts.fms_safe_migration_quarterly",
        "corridor_respondents",
        "quarter, direction, origin_adm1_code, dest_country_iso3",
    ),
    (
        "marts.fms_origin_profile_quarterly",
        "area_respondents",
        "quarter, origin_adm1_code, coalesce(origin_adm2_code, '')",
    ),
]


@pytest.fixture(scope="module")
def publication(
    tmp_path_factory: pytest.TempPathFactory, sample_refresh: dict[str, object]
) -> dict[str, object]:
    """The session's gated refresh of an 800-survey sample (tests/conftest.py) and the audit
    of what it published; when its gate blocked it, of what it would publish without."""
    gated = sample_refresh["outcome"]
    root = Path(str(sample_refresh["root"]))
    if gated.status != "published":
        root = tmp_path_factory.mktemp("ungated") / "sample"
        shutil.copytree(Path(str(sample_refresh["root"])), root)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FMW_DISCLOSURE_AUDIT", "off")
            nightly_refresh(landing_dir=str(root / "landing"), data_dir=str(root / "data"))
    database = root / "data" / "published" / "warehouse.duckdb"
    return {
        "manifest": sample_refresh["manifest"],
        "gated": gated,
        "database": database,
        "report": audit_database(database, K),
    }


def test_the_audit_counts_every_suppressed_count_of_the_publication(publication):
    report: AuditReport = publication["report"]
    with duckdb.connect(str(publication["database"]), read_only=True) as connection:
        expected = {
            f"{table}.{column}": connection.execute(
                f"SELECT count(*) FROM {table} WHERE {column} IS NULL"
            ).fetchone()[0]
            for table, columns in COUNTED.items()
            for column in columns
        }
        # a corridor's or an area's total is one cell, repeated on its category rows
        for table, total, keys in BASES:
            expected[f"{table}.{total}"] = connection.execute(
                f"SELECT count(DISTINCT ({keys})) FROM {table} WHERE {total} IS NULL"
            ).fetchone()[0]
    expected = {name: n for name, n in expected.items() if n}

    assert {name: cells for name, (cells, _, _) in report.by_table().items()} == expected
    assert len(report.intervals) == sum(expected.values())
    assert sum(exact for _, exact, _ in report.by_table().values()) == len(report.exact)
    assert sum(under for _, _, under in report.by_table().values()) == len(report.under_k)
    assert all(i.lower <= i.upper for i in report.intervals)
    assert not report.problems  # the published numbers satisfy every relation the audit uses


def test_every_true_count_lies_within_the_bounds_the_audit_derives(publication):
    truth = {
        (date.fromisoformat(c["month"]), c["direction"], c["origin_adm1_code"], dest): c
        for c in publication["manifest"]["fms_corridor_monthly"]
        for dest in ["XXX" if c["dest_country_iso3"] == "other" else c["dest_country_iso3"]]
    }
    checked = 0
    for interval in publication["report"].intervals:
        if interval.cell.table != "marts.fms_corridor_monthly":
            continue
        value = truth[interval.cell.key][interval.cell.column]
        if interval.lower_exact:
            assert value >= interval.lower, interval
        if interval.upper_exact:
            assert value <= interval.upper, interval
        checked += 1
    assert checked > 0


def test_the_gated_refresh_publishes_and_the_audit_finds_nothing(publication):
    report: AuditReport = publication["report"]
    gated = publication["gated"]

    assert not report.exact, report.summary()
    assert not report.under_k, report.summary()
    assert gated.status == "published"
    assert "disclosure audit: " in gated.quality


def test_the_command_prints_the_audit_and_its_verdict(publication, capsys):
    from flows.cli import main

    status = main(["audit-disclosure", "--database", str(publication["database"]), "--k", "5"])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith(publication["report"].summary().split(", min protection")[0])
    assert "PASS: audited" in out
    assert "marts.fms_corridor_monthly.respondents" in out
