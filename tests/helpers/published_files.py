"""A small data directory as a refresh leaves it: a published file of aggregates and an
internal database with respondent-level rows and quarantine, for the analyst commands."""

from __future__ import annotations

from pathlib import Path

import duckdb

HOSTILE_FILE_NAME = '=HYPERLINK("http://x","y")'

PUBLISHED_SQL = [
    "CREATE SCHEMA marts",
    "CREATE SCHEMA ops",
    """CREATE TABLE marts.fms_corridor_monthly AS
       SELECT * FROM (VALUES
         (DATE '2026-01-01', 'outflow', 'LA-LM', 'CHN', 12, 7, false),
         (DATE '2026-02-01', 'outflow', 'LA-LM', 'CHN', 20, 9, false),
         (DATE '2026-02-01', 'outflow', 'LA-PH', 'THA', NULL, NULL, true),
         (DATE '2026-03-01', 'inflow', 'LA-LM', 'THA', 8, 3, false))
       t(month, direction, origin_adm1_code, dest_country_iso3, respondents,
         female_respondents, suppressed)""",
    """CREATE TABLE marts.dim_provinces AS
       SELECT * FROM (VALUES ('LA-LM', 'Louang Namtha'), ('LA-PH', 'Phongsali'))
       t(adm1_code, name)""",
    """CREATE TABLE marts.fmr_daily_flows AS
       SELECT * FROM (VALUES (DATE '2026-03-01', 'LAO_FMP_001', 'outflow', -3),
                             (DATE '2026-03-02', 'LAO_FMP_001', 'outflow', 40))
       t(date, fmp_code, direction, individuals)""",
    f"""CREATE TABLE ops.file_loads AS
       SELECT * FROM (VALUES
         ('fms', 'export_2026-03.csv', 'ab12', 5, 5, 0, 0, 'loaded'),
         ('fms', '{HOSTILE_FILE_NAME}', 'cd34', 2, 0, 0, 2, 'loaded'),
         ('fmr', '+cmd|calc.csv', 'ef56', 1, 1, 0, 0, 'loaded'),
         ('fmr', '@SUM(1+1).csv', 'ef57', 1, 1, 0, 0, 'loaded'),
         ('fmr', '-2+3.csv', 'ef58', 1, 1, 0, 0, 'loaded'),
         ('fmr', '\tx.csv', 'ef59', 1, 1, 0, 0, 'loaded'),
         ('fmr', '\rx.csv', 'ef60', 1, 1, 0, 0, 'loaded'))
       t(source, file_name, sha256, rows_read, rows_loaded, rows_duplicate, rows_quarantined,
         status)""",
    """CREATE TABLE ops.runs AS
       SELECT * FROM (VALUES ('r1', TIMESTAMP '2026-03-01 02:00:00', 'published'),
                             ('r2', TIMESTAMP '2026-03-02 02:00:00', 'published'))
       t(run_id, started_at, status)""",
]

INTERNAL_SQL = [
    "CREATE SCHEMA raw",
    "CREATE SCHEMA quarantine",
    """CREATE TABLE raw.fms_submissions AS
       SELECT 'uuid-respondent-1' AS _uuid, 'LA-LM' AS origin, 34 AS age""",
    """CREATE TABLE quarantine.rows AS
       SELECT 'fms/x.csv' AS file_name, 3 AS row_number, 'age not an integer' AS reason""",
]


def write_data_dir(data_dir: Path) -> Path:
    """Write `data_dir`/published/warehouse.duckdb and internal/warehouse.duckdb; return
    the published file."""
    for folder, statements in (("published", PUBLISHED_SQL), ("internal", INTERNAL_SQL)):
        (data_dir / folder).mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(data_dir / folder / "warehouse.duckdb")) as connection:
            for statement in statements:
                connection.execute(statement)
    return data_dir / "published" / "warehouse.duckdb"
