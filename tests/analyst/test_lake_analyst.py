"""`fmw query` and `fmw export` on the lake's published catalog, as on the published file."""

from __future__ import annotations

import duckdb
import pytest

from flows.analyst.export import export_table
from flows.analyst.query import NothingPublished, query_published
from flows.analyst.statements import QueryRefused
from flows.config import resolve_settings
from flows.publish.lake_release import publish_to_lake
from flows.warehouse.lake import published_source


@pytest.fixture
def published(lake, tmp_path):  # noqa: ANN001, ANN201
    settings = resolve_settings(data_dir=tmp_path / "data", lake=lake.url, lake_data=str(lake.data))
    candidate = tmp_path / "candidate.duckdb"
    with duckdb.connect(str(candidate)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE SCHEMA ops")
        connection.execute(
            "CREATE TABLE marts.corridor AS SELECT range AS respondents, "
            "'=HYPERLINK(1)' AS note FROM range(3)"
        )
        connection.execute("CREATE TABLE ops.runs AS SELECT 'r1' AS run_id")
    return settings, candidate


def test_nothing_published_in_the_lake_is_said_so(published):
    settings, _ = published
    with pytest.raises(NothingPublished, match="published catalog"):
        query_published(published_source(settings), "select 1")


def test_query_and_export_read_the_published_catalog_safely(published, tmp_path):
    settings, candidate = published
    publish_to_lake(settings, candidate, "r1")
    source = published_source(settings)
    out = query_published(source, "select sum(respondents) as n from marts.corridor", "csv")
    assert out == "n\n3\n"
    with pytest.raises(QueryRefused):
        query_published(source, "delete from marts.corridor")
    parquet = export_table(source, "marts.corridor", "parquet", tmp_path / "c.parquet")
    with duckdb.connect() as connection:
        assert connection.execute(f"SELECT count(*) FROM '{parquet}'").fetchone() == (3,)
    csv_file = export_table(source, "marts.corridor", "csv", tmp_path / "c.csv")
    assert "'=HYPERLINK(1)" in csv_file.read_text()
