"""`fmw rollback --lake` does what the file mode's rollback does: the report is redrawn from
the publication analysts see after it, the one `fmw status` names."""

from __future__ import annotations

from flows.cli import main
from flows.config import resolve_settings
from flows.publish.lake_release import connect_published, publications
from flows.publish.release import publish_candidate
from flows.publish.report import report_path
from tests.publish.test_report import TABLES, published

RUNS = ("20260301T020000Z-aaaaaa", "20260302T020000Z-bbbbbb")


def test_a_lake_rollback_redraws_the_report_from_the_publication_it_restores(
    lake, tmp_path, capsys
):
    settings = resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=str(lake.data))
    for run_id in RUNS:
        results = [(run_id, *row[1:]) for row in TABLES["ops.quality_results"][1]]
        runs = [(run_id, "2026-03-01 02:00:00", None, "running")]
        candidate = settings.candidates_dir / f"{run_id}.duckdb"
        candidate.parent.mkdir(parents=True, exist_ok=True)
        published(candidate, ops__quality_results=results, ops__runs=runs)
        publish_candidate(settings, candidate, run_id)  # into the lake's published catalog
    capsys.readouterr()

    assert main(["rollback", "--data-dir", str(settings.data_dir), *lake.args()]) == 0

    out = capsys.readouterr().out
    page = report_path(settings.published_dir)
    assert f"report redrawn from it: {page}" in out
    assert f"Published by refresh <b>{RUNS[0]}</b>" in page.read_text(encoding="utf-8")
    with connect_published(settings) as connection:  # what `fmw status` names as in place
        latest = publications(connection)[-1]
    assert (latest.kind, latest.run_id) == ("rollback", RUNS[0])
