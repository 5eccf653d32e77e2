"""`fmw status --lake` with the analysts' role: what is published, and a plain line instead of
the run log, which lives in the internal catalog that role may not read."""

from __future__ import annotations

import duckdb

from flows.cli import main
from flows.config import resolve_settings
from flows.publish.lake_release import publish_to_lake
from flows.warehouse.lake import connect_internal

RUN = "20260301T020000Z-aaaaaa"


def test_status_with_the_analysts_role_shows_the_publication_and_says_why_no_run_log(
    lake, tmp_path, capsys
):
    settings = resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=str(lake.data))
    with connect_internal(settings) as connection:
        connection.execute("CREATE SCHEMA ops")
        connection.execute("CREATE TABLE ops.runs AS SELECT 'respondent-level' AS secret")
    candidate = tmp_path / "candidate.duckdb"
    with duckdb.connect(str(candidate)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE SCHEMA ops")
        connection.execute(
            "CREATE TABLE ops.file_loads AS SELECT 'fms' AS source, 10 AS rows_read, "
            "1 AS rows_quarantined, 'loaded' AS status"
        )
        connection.execute(
            "CREATE TABLE ops.quality_results AS SELECT ? AS run_id, 'critical' AS severity, "
            "true AS success",
            [RUN],
        )
    publish_to_lake(settings, candidate, RUN)
    as_analyst = lake.url_as(lake.analyst_role("watcher"))

    status = main(
        ["status", "--data-dir", str(tmp_path / "analyst"), "--lake", as_analyst,
         "--lake-data", str(lake.data)]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert status == 0
    assert f"  run {RUN}, snapshot " in out
    assert "  from 1 fms file(s): 10 rows read, 1 quarantined" in out
    assert "recent runs:\n  unavailable to this role: the run log is in the lake's internal" in out
