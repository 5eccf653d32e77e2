"""The internal DuckDB database's tables: every DDL statement of the warehouse.

Raw tables hold values as delivered (VARCHAR, validated against the form, direct
identifiers never present); dbt casts them in staging.
"""

from __future__ import annotations

import duckdb

from flows.form.xlsform import Form, raw_columns
from flows.sql import quote_identifier
from flows.warehouse.connection import transaction

LINEAGE_COLUMNS = (
    ("source_file", "VARCHAR"),
    ("source_row", "INTEGER"),
    ("row_hash", "VARCHAR"),
    ("loaded_run_id", "VARCHAR"),
    ("loaded_at", "TIMESTAMP"),
)

# See flows/ingest/fms/load.py: which deliveries of each held submission validated to it, so that
# a row delivered again unchanged skips validation.
FMS_DELIVERIES_TABLE = "raw.fms_deliveries"

# See flows/ingest/landing_zone.py: a file seen before with the same size and modification
# time is not hashed again (files only ever arrive; a provider never edits one in place).
FILE_IDENTITY_COLUMNS = (("size_bytes", "BIGINT"), ("modified_ns", "BIGINT"))
# A file that failed for a cause outside it (memory, disk, permissions) is read again by the
# next refresh; any other failed file only when its bytes change (flows.ingest.landing_zone).
FILE_RETRY_COLUMNS = (("retry_next_run", "BOOLEAN"),)

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


QUARANTINE_COLUMNS = (
    ("run_id", "VARCHAR"),
    ("source", "VARCHAR"),
    ("file_name", "VARCHAR"),
    ("row_number", "INTEGER"),
    ("column_name", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("value", "VARCHAR"),
    ("record", "VARCHAR"),
)

# Tables whose columns do not depend on the form, by name. Each is created only by
# create_table or ensure_schema, here.
FIXED_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    FMS_DELIVERIES_TABLE: (
        ("_uuid", "VARCHAR"),
        ("delivered_hash", "UBIGINT"),
        ("remembered_at", "TIMESTAMP"),
    ),
    "raw.fmr_tallies": (
        *((c, "VARCHAR") for c in FMR_COLUMNS),
        ("source_file", "VARCHAR"),
        ("source_row", "INTEGER"),
        ("loaded_run_id", "VARCHAR"),
    ),
    "raw.stories": (
        *STORY_COLUMNS,
        ("row_hash", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("loaded_run_id", "VARCHAR"),
    ),
    "raw.fx_rates": (
        ("month", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("lak_per_unit", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("source_row", "INTEGER"),
        ("loaded_run_id", "VARCHAR"),
    ),
    "quarantine.rows": QUARANTINE_COLUMNS,
    "ops.file_loads": (
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
        *FILE_RETRY_COLUMNS,
    ),
    # How far each raw suite has validated its table (flows.quality.gates.NEW_ROWS_ONLY).
    "ops.raw_validations": (
        ("suite", "VARCHAR"),
        ("fingerprint", "VARCHAR"),
        ("max_interview_date", "DATE"),
        ("validated_through", "TIMESTAMP"),
        ("run_id", "VARCHAR"),
    ),
    "ops.runs": (
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
    ),
    # The fingerprint of the last dbt build and docs site (flows.transform.plan).
    "ops.dbt_builds": (("fingerprint", "VARCHAR"), ("built_at", "TIMESTAMP")),
    "ops.dbt_docs": (("fingerprint", "VARCHAR"), ("generated_at", "TIMESTAMP")),
    # Written to the internal database and to each candidate (flows.quality.records).
    "ops.quality_results": (
        ("run_id", "VARCHAR"),
        ("suite", "VARCHAR"),
        ("check_name", "VARCHAR"),
        ("severity", "VARCHAR"),
        ("success", "BOOLEAN"),
        ("observed", "VARCHAR"),
    ),
}


def _table(name: str, columns: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
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
        *(_table(name, columns) for name, columns in FIXED_TABLES.items()),
        # Warehouses created before these columns existed hash each file once more.
        *(
            f"ALTER TABLE ops.file_loads ADD COLUMN IF NOT EXISTS {name} {sql_type}"
            for name, sql_type in (*FILE_IDENTITY_COLUMNS, *FILE_RETRY_COLUMNS)
        ),
    ]


def create_table(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    """Create one of FIXED_TABLES (and its schema) if it does not exist yet."""
    schema = name.split(".", 1)[0]
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    connection.execute(_table(name, FIXED_TABLES[name]))


def insert_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[object, ...]],
) -> None:
    """Insert `rows` into `table` by column name: the table's column order never matters."""
    if not rows:
        return
    names = ", ".join(quote_identifier(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


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
    with transaction(connection):
        connection.execute(f"DELETE FROM {FMS_DELIVERIES_TABLE}")
        connection.execute(
            f"INSERT INTO {FMS_DELIVERIES_TABLE} "
            "SELECT _uuid, delivered_hash, loaded_at FROM raw.fms_submissions "
            "WHERE delivered_hash IS NOT NULL"
        )
        connection.execute("ALTER TABLE raw.fms_submissions DROP COLUMN delivered_hash")
