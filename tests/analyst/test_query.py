"""`fmw query`: read-only, with table, CSV and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flows.analyst.query import NothingPublished, query_published
from flows.analyst.statements import QueryRefused


@pytest.fixture
def published(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute(
            "CREATE TABLE marts.t AS SELECT DATE '2026-03-01' AS month, 12 AS n, NULL AS f"
        )
    return path


def test_table_output_shows_nulls_and_a_row_count(published):
    text = query_published(published, "SELECT * FROM marts.t")
    assert text.splitlines()[0].split(" | ") == ["month     ", "n ", "f   "]
    assert "2026-03-01 | 12 | NULL" in text
    assert text.endswith("(1 row)\n")


def test_csv_and_json_output(published):
    assert (
        query_published(published, "SELECT * FROM marts.t", "csv") == "month,n,f\n2026-03-01,12,\n"
    )
    records = json.loads(query_published(published, "SELECT * FROM marts.t", "json"))
    assert records == [{"month": "2026-03-01", "n": 12, "f": None}]


def test_queries_cannot_write(published):
    with pytest.raises(QueryRefused, match="DELETE statements are refused"):
        query_published(published, "DELETE FROM marts.t")


def test_a_missing_database_says_to_run_a_refresh(tmp_path):
    with pytest.raises(NothingPublished, match="fmw refresh"):
        query_published(tmp_path / "nothing.duckdb", "SELECT 1")
