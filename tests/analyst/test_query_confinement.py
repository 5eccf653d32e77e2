"""`fmw query` reads the published file and nothing else: every probe is refused with a
message that says why, and ordinary analyst queries still run."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.analyst.query import query_published
from flows.analyst.statements import QueryRefused
from flows.cli import main
from tests.helpers.published_files import write_data_dir

FILES_OUT_OF_REACH = "cannot open files, other databases or extensions"
SETTINGS_FIXED = "settings are fixed"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_data_dir(tmp_path / "data")
    return tmp_path / "data"


PROBES = [
    ("ATTACH '{internal}' AS internal", "cannot attach"),
    ("ATTACH '{internal}' AS internal (READ_ONLY)", "cannot attach"),
    ("ATTACH ':memory:' AS scratch", "cannot attach"),
    ("SELECT * FROM '{internal}'", FILES_OUT_OF_REACH),
    ("SELECT * FROM read_csv('/etc/passwd')", FILES_OUT_OF_REACH),
    ("SELECT * FROM read_text('/etc/passwd')", FILES_OUT_OF_REACH),
    ("SELECT * FROM read_blob('/etc/passwd')", FILES_OUT_OF_REACH),
    ("SELECT * FROM glob('/**')", FILES_OUT_OF_REACH),
    ("SELECT * FROM sniff_csv('/etc/passwd')", FILES_OUT_OF_REACH),
    ("COPY (SELECT * FROM marts.fms_corridor_monthly) TO '{tmp}/x.csv'", "writes no files"),
    ("EXPORT DATABASE '{tmp}/x'", "writes no files"),
    ("IMPORT DATABASE '{tmp}'", FILES_OUT_OF_REACH),
    ("SET memory_limit = '1GB'", SETTINGS_FIXED),
    ("SET enable_external_access = true", SETTINGS_FIXED),
    ("SET lock_configuration = false", SETTINGS_FIXED),
    ("RESET memory_limit", SETTINGS_FIXED),
    ("PRAGMA memory_limit = '1GB'", SETTINGS_FIXED),
    ("PRAGMA disable_optimizer", SETTINGS_FIXED),
    ("PRAGMA enable_checkpoint_on_shutdown", SETTINGS_FIXED),
    ("PRAGMA import_database('{tmp}')", FILES_OUT_OF_REACH),
    ("INSTALL httpfs", "loads no extensions"),
    ("LOAD httpfs", "loads no extensions"),
    ("FORCE INSTALL httpfs", "loads no extensions"),
    ("CALL enable_logging()", "read-only queries only"),
    (
        "SELECT * FROM enable_logging(storage = 'file', storage_path = '{tmp}/logs')",
        "enable_logging is refused",
    ),
    ("EXPLAIN ANALYZE SELECT * FROM enable_logging()", "enable_logging is refused"),
    ('SELECT * FROM "Enable_Logging"()', "enable_logging is refused"),
    ("CREATE SECRET s (TYPE s3)", "read-only queries only"),
    ("SELECT * FROM duckdb_secrets()", FILES_OUT_OF_REACH),
    ("CREATE TEMP TABLE t AS SELECT 1", "read-only queries only"),
    ("SELECT 1; SELECT 2", "one statement per call"),
    ("SELECT 1; ATTACH '{internal}' AS internal", "one statement per call"),
    ("SELECT 1 ; PIVOT marts.fms_corridor_monthly ON direction", "one statement per call"),
    ("", "no SQL statement"),
]


def _sql(template: str, data_dir: Path, tmp_path: Path) -> str:
    return template.format(internal=data_dir / "internal" / "warehouse.duckdb", tmp=tmp_path)


@pytest.mark.parametrize(("template", "reason"), PROBES)
def test_every_probe_is_refused_with_a_reason(data_dir, tmp_path, template, reason):
    published = data_dir / "published" / "warehouse.duckdb"
    with pytest.raises(QueryRefused, match=reason):
        query_published(published, _sql(template, data_dir, tmp_path))
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x").exists()


def test_the_cli_refuses_every_probe_with_a_message_and_a_failing_status(
    data_dir, tmp_path, capsys
):
    for template, reason in PROBES:
        sql = _sql(template, data_dir, tmp_path)
        status = main(["query", sql, "--data-dir", str(data_dir)])
        captured = capsys.readouterr()
        assert status == 1, sql
        assert captured.err.startswith("query refused: ") and reason in captured.err, sql
        assert "Traceback" not in captured.err and captured.out == ""


def test_respondent_rows_and_quarantine_stay_out_of_reach(data_dir):
    published = data_dir / "published" / "warehouse.duckdb"
    internal = data_dir / "internal" / "warehouse.duckdb"
    for sql in (
        f"SELECT * FROM read_csv('{internal}')",
        f"SELECT _uuid FROM '{internal}'",
        f"ATTACH '{internal}' AS i; SELECT * FROM i.raw.fms_submissions",
    ):
        with pytest.raises(QueryRefused):
            query_published(published, sql)


ANALYST_QUERIES = {
    "join": (
        "SELECT p.name, sum(c.respondents) AS n FROM marts.fms_corridor_monthly c "
        "JOIN marts.dim_provinces p ON p.adm1_code = c.origin_adm1_code "
        "GROUP BY p.name ORDER BY p.name",
        "Louang Namtha,40\nPhongsali,\n",
    ),
    "cte and window": (
        "WITH monthly AS (SELECT month, sum(respondents) AS n FROM marts.fms_corridor_monthly "
        "GROUP BY month) SELECT month, sum(n) OVER (ORDER BY month) AS running FROM monthly "
        "ORDER BY month",
        "2026-01-01,12\n2026-02-01,32\n2026-03-01,40\n",
    ),
    "ops": (
        "FROM ops.runs SELECT run_id, lag(run_id) OVER (ORDER BY started_at) AS previous "
        "ORDER BY started_at DESC LIMIT 1",
        "r2,r1\n",
    ),
    "pivot": (
        "PIVOT (SELECT direction, respondents FROM marts.fms_corridor_monthly) "
        "ON direction USING sum(respondents)",
        "8,32\n",
    ),
    "describe": ("DESCRIBE marts.dim_provinces", "adm1_code,VARCHAR"),
    "show": ("SHOW ALL TABLES", "dim_provinces"),
    "summarize": ("SUMMARIZE marts.fmr_daily_flows", "individuals,INTEGER"),
    "explain": ("EXPLAIN SELECT * FROM marts.dim_provinces", "physical_plan"),
    "trailing semicolon and comment": ("SELECT 1 AS one; -- done", "1\n"),
}


@pytest.mark.parametrize("name", ANALYST_QUERIES)
def test_ordinary_analyst_queries_still_run(data_dir, name):
    sql, expected = ANALYST_QUERIES[name]
    text = query_published(data_dir / "published" / "warehouse.duckdb", sql, "csv")
    assert expected in text


def test_a_query_that_spills_to_disk_still_runs(data_dir, monkeypatch):
    monkeypatch.setenv("FMW_DUCKDB_MEMORY_LIMIT", "64MB")
    sql = "SELECT count(*) FROM (SELECT md5(i::VARCHAR) AS h FROM range(3000000) r(i) ORDER BY h)"
    text = query_published(data_dir / "published" / "warehouse.duckdb", sql, "csv", "64MB")
    assert text.splitlines()[1] == "3000000"
    assert sorted(p.name for p in (data_dir / "published").iterdir()) == ["warehouse.duckdb"]


def test_csv_output_is_neutralised_like_an_export(data_dir):
    text = query_published(
        data_dir / "published" / "warehouse.duckdb",
        "SELECT file_name, rows_read, -rows_read AS negative FROM ops.file_loads "
        "WHERE file_name LIKE '=%' OR file_name LIKE '@%'",
        "csv",
    )
    assert text.splitlines()[1:] == [
        '"\'=HYPERLINK(""http://x"",""y"")",2,-2',
        "'@SUM(1+1).csv,1,-1",
    ]


def test_a_column_named_like_a_formula_is_neutralised_in_csv(data_dir):
    text = query_published(data_dir / "published" / "warehouse.duckdb", 'SELECT 1 AS "=1+1"', "csv")
    assert text.splitlines()[0] == "'=1+1"
