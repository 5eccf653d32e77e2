"""The protection pass end to end: a generated landing zone, one gated refresh per k (k 5
reads the session's refresh of the 800-survey sample, k 10 refreshes a 600-survey one).

The refresh publishes only when the disclosure audit of the candidate (issue-19a's
attacker LP over the published file alone) finds no suppressed count pinned down or
bounded below k; the test audits the published file once more and looks at the pattern
the pass chose.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.disclosure.audit import audit_database
from flows.nightly import nightly_refresh
from flows.sample.generator import generate_landing_zone

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[5, 10], ids=lambda k: f"k{k}")
def refreshed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefect_harness
) -> tuple[int, Path, Path, str]:
    k = request.param
    if k == 5:  # the default k: the session's sample refresh (800 surveys), only read here
        sample = request.getfixturevalue("sample_refresh")
        root, status = Path(str(sample["root"])), sample["outcome"].status
    else:
        root = tmp_path_factory.mktemp(f"protected_k{k}")
        generate_landing_zone(root / "landing", surveys=600, seed=19)
        outcome = nightly_refresh(
            landing_dir=str(root / "landing"), data_dir=str(root / "data"), suppression_k=k
        )
        status = outcome.status
    internal = root / "data" / "internal" / "warehouse.duckdb"
    return k, root / "data" / "published" / "warehouse.duckdb", internal, status


def test_the_gated_refresh_publishes_a_database_the_audit_finds_nothing_in(refreshed):
    k, published, _, status = refreshed

    report = audit_database(published, k)

    assert status == "published"
    assert report.intervals, "nothing was suppressed: the landing zone is too large to test"
    assert report.exact == [] and report.under_k == [], report.summary()
    assert report.passes


def test_secondary_suppression_protects_cells_across_tables(refreshed):
    k, published, internal, _ = refreshed
    with duckdb.connect(str(internal), read_only=True) as connection:
        verdicts = dict(
            connection.execute(
                "select verdict, count(*) from intermediate.int_disclosure_pattern group by all"
            ).fetchall()
        )
        small_published = connection.execute(
            "select count(*) from intermediate.int_disclosure_pattern"
            " where verdict = 'published' and respondents < ? and kind <> 'ops_fms_rows_loaded'",
            [k],
        ).fetchone()[0]
    with duckdb.connect(str(published), read_only=True) as connection:
        # no table of the published file holds the pass's internals
        schemas = {
            s for (s,) in connection.execute("select schema_name from duckdb_tables()").fetchall()
        }

    assert verdicts.get("secondary", 0) > 0
    assert verdicts.get("published", 0) > 0
    assert small_published == 0
    assert schemas == {"marts", "ops"}
