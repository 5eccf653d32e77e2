"""The internal DuckDB database: its tables, and how to open it.

Raw tables hold values as delivered (VARCHAR, validated against the form, direct
identifiers never present); dbt casts them in staging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.form.xlsform import Form
from flows.ingest.fms.validation import raw_columns
from flows.sql import quote_identifier

LINEAGE_COLUMNS = (
    ("source_file", "VARCHAR"),
    ("source_row", "INTEGER"),
    ("row_hash", "VARCHAR"),
    ("loaded_run_id", "VARCHAR"),
    ("loaded_at", "TIMESTAMP"),
)

# DuckDB's default is 80% of RAM, kept as cache; a nightly refresh shares the machine, so
# it is capped and DuckDB spills to disk beyond it (a 5 M-submission refresh must stay
# under 4 GB). FMW_DUCKDB_MEMORY_LIMIT overrides it.
DEFAULT_MEMORY_LIMIT = "2GB"

# See flows/fms_load.py: which deliveries of each held submission validated to it, so that
# a row delivered again unchanged skips validation.
FMS_DELIVERIES_TABLE = "raw.fms_deliveries"

# See flows/ingest.py: a file seen before with the same size and modification time is not
# hashed again (files only ever arrive; a provider never edits one in place).
FILE_IDENTITY_COLUMNS = (("size_bytes", "BIGINT"), ("modified_ns", "BIGINT"))

FMR_COLUMNS = (
    "date",
    "fmp",
    "direction",
    "sex",
    "age_group",
    "nationality",
    "transport",
    "count",
    "observer_id",
    "hours_observed",
)

STORY_COLUMNS = (
    ("id", "VARCHAR"),
    ("title", "VARCHAR"),
    ("published", "VARCHAR"),
    ("language", "VARCHAR"),
    ("url", "VARCHAR"),
    ("consent", "VARCHAR"),
    ("pseudonym", "VARCHAR"),
    ("person_age", "VARCHAR"),
    ("person_sex", "VARCHAR"),
    ("person_ethnicity", "VARCHAR"),
    ("person_children", "VARCHAR"),
    ("residence_place", "VARCHAR"),
    ("residence_adm1_code", "VARCHAR"),
    ("residence_adm2_code", "VARCHAR"),
    ("residence_match_quality", "VARCHAR"),
    ("residence_match_note", "VARCHAR"),
    ("origin_place", "VARCHAR"),
    ("origin_adm1_code", "VARCHAR"),
    ("origin_adm2_code", "VARCHAR"),
    ("origin_match_quality", "VARCHAR"),
    ("origin_match_note", "VARCHAR"),
    ("destination_country", "VARCHAR"),
    ("destination_area", "VARCHAR"),
    ("sector_before", "VARCHAR"),
    ("sector", "VARCHAR"),
    ("channel", "VARCHAR"),
    ("themes", "VARCHAR[]"),
    ("collected_programme", "VARCHAR"),
    ("collected_activity", "VARCHAR"),
    ("collected_fmp", "VARCHAR"),
    ("body", "VARCHAR"),
)


def _table(name: str, columns: list[tuple[str, str]]) -> str:
    body = ",\n  ".join(f"{quote_identifier(c)} {t}" for c, t in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {body}\n)"


def schema_ddl(form: Form) -> list[str]:
    fms = [(c, "VARCHAR") for c in raw_columns(form)] + [("extra_columns", "VARCHAR")]
    return [
        "CREATE SCHEMA IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS quarantine",
        "CREATE SCHEMA IF NOT EXISTS ops",
        "CREATE SCHEMA IF NOT EXISTS reference",
        _table("raw.fms_submissions", fms + list(LINEAGE_COLUMNS)),
        _table(
            FMS_DELIVERIES_TABLE,
            [("_uuid", "VARCHAR"), ("delivered_hash", "UBIGINT"), ("remembered_at", "TIMESTAMP")],
        ),
        _table(
            "raw.fmr_tallies",
            [(c, "VARCHAR") for c in FMR_COLUMNS]
            + [("source_file", "VARCHAR"), ("source_row", "INTEGER"), ("loaded_run_id", "VARCHAR")],
        ),
        _table(
            "raw.stories",
            list(STORY_COLUMNS)
            + [("row_hash", "VARCHAR"), ("source_file", "VARCHAR"), ("loaded_run_id", "VARCHAR")],
        ),
        _table(
            "raw.fx_rates",
            [("month", "VARCHAR"), ("currency", "VARCHAR"), ("lak_per_unit", "VARCHAR")]
            + [("source_file", "VARCHAR"), ("source_row", "INTEGER"), ("loaded_run_id", "VARCHAR")],
        ),
        _table(
            "quarantine.rows",
            [
                ("run_id", "VARCHAR"),
                ("source", "VARCHAR"),
                ("file_name", "VARCHAR"),
                ("row_number", "INTEGER"),
                ("column_name", "VARCHAR"),
                ("reason", "VARCHAR"),
                ("value", "VARCHAR"),
                ("record", "VARCHAR"),
            ],
        ),
        _table(
            "ops.file_loads",
            [
                ("source", "VARCHAR"),
                ("file_name", "VARCHAR"),
                ("sha256", "VARCHAR"),
                ("rows_read", "BIGINT"),
                ("rows_loaded", "BIGINT"),
                ("rows_duplicate", "BIGINT"),
                ("rows_quarantined", "BIGINT"),
                ("status", "VARCHAR"),
                ("reason", "VARCHAR"),
                ("arrival_rank", "BIGINT"),
                ("run_id", "VARCHAR"),
                ("loaded_at", "TIMESTAMP"),
                *FILE_IDENTITY_COLUMNS,
            ],
        ),
        # Warehouses created before these columns existed hash each file once more.
        *(
            f"ALTER TABLE ops.file_loads ADD COLUMN IF NOT EXISTS {name} {sql_type}"
            for name, sql_type in FILE_IDENTITY_COLUMNS
        ),
        # How far each raw suite has validated its table (flows.quality.gates.NEW_ROWS_ONLY).
        _table(
            "ops.raw_validations",
            [
                ("suite", "VARCHAR"),
                ("fingerprint", "VARCHAR"),
                ("max_interview_date", "DATE"),
                ("validated_through", "TIMESTAMP"),
                ("run_id", "VARCHAR"),
            ],
        ),
        _table(
            "ops.runs",
            [
                ("run_id", "VARCHAR"),
                ("started_at", "TIMESTAMP"),
                ("finished_at", "TIMESTAMP"),
                ("status", "VARCHAR"),
                ("files_seen", "BIGINT"),
                ("files_loaded", "BIGINT"),
                ("files_failed", "BIGINT"),
                ("rows_loaded", "BIGINT"),
                ("rows_quarantined", "BIGINT"),
                ("message", "VARCHAR"),
            ],
        ),
    ]


def duckdb_memory_limit() -> str:
    """How much memory one DuckDB instance of the flow may use (it spills to disk beyond)."""
    return os.environ.get("FMW_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file and always close it: a connection left open keeps a stale view."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": duckdb_memory_limit()}
    connection = duckdb.connect(str(path), read_only=read_only, config=config)
    # Every time the flow stamps (loaded_at, a run's start) is UTC wall time, whatever the time
    # zone of the process that runs it: the incremental fact and the raw quality suite find new
    # rows by loaded_at, and a run under another TZ must not stamp rows behind earlier ones.
    connection.execute("SET TimeZone = 'UTC'")
    try:
        yield connection
    finally:
        connection.close()


def ensure_schema(connection: duckdb.DuckDBPyConnection, form: Form) -> None:
    for statement in schema_ddl(form):
        connection.execute(statement)
    _move_delivered_hashes_out_of_raw(connection)


def _move_delivered_hashes_out_of_raw(connection: duckdb.DuckDBPyConnection) -> None:
    """Warehouses from before raw.fms_deliveries kept one delivered hash per held row, in
    raw.fms_submissions.delivered_hash: those move to the deliveries table, once. While the
    column exists it is the authority: code that kept it never maintained the table."""
    has_old_column = connection.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'raw' "
        "AND table_name = 'fms_submissions' AND column_name = 'delivered_hash'"
    ).fetchone()[0]
    if not has_old_column:
        return
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute(f"DELETE FROM {FMS_DELIVERIES_TABLE}")
        connection.execute(
            f"INSERT INTO {FMS_DELIVERIES_TABLE} "
            "SELECT _uuid, delivered_hash, loaded_at FROM raw.fms_submissions "
            "WHERE delivered_hash IS NOT NULL"
        )
        connection.execute("ALTER TABLE raw.fms_submissions DROP COLUMN delivered_hash")
    except duckdb.Error:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
