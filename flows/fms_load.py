"""Load one staged FMS export into the raw layer: validate, quarantine, deduplicate, upsert.

A submission is its `_uuid`. A row whose `_uuid` is already held with the same content is
a duplicate (cumulative exports); with different content (a supervisor changed its
validation status, say) it replaces the held version, so the raw layer always holds the
latest delivered version of each submission. Edits (`meta/deprecatedID`) stay separate
rows here and are resolved in dbt, which makes arrival order irrelevant for them.
"""

from __future__ import annotations

import duckdb

from flows.fms_read import STAGED_TABLE, StagedFile
from flows.fms_validation import raw_columns, validation_select
from flows.form import Form
from flows.landing import LoadCounts
from flows.xlsform_sql import quote_identifier, quote_literal

# `_tags` is a supervisor's label, not part of the submission's content.
_NOT_HASHED = {"_tags"}


def _row_hash_sql(columns: tuple[str, ...]) -> str:
    hashed = [c for c in columns if c not in _NOT_HASHED] + ["extra_columns"]
    parts = ", ".join(f"coalesce({quote_identifier(c)}, '\\N')" for c in hashed)
    return f"md5(concat_ws(chr(31), {parts}))"


def load_staged_fms(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    staged: StagedFile,
    file_name: str,
    run_id: str,
) -> LoadCounts:
    columns = raw_columns(form)
    layouts = staged.select_multiple_layouts(form)
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE fms_checked AS "
        + validation_select(form, STAGED_TABLE, layouts)
    )
    _quarantine_invalid_rows(connection, columns, staged, file_name, run_id)
    rows_quarantined = connection.execute(
        "SELECT count(*) FROM fms_checked WHERE len(errors) > 0"
    ).fetchone()[0] + len(staged.malformed)

    column_list = ", ".join(quote_identifier(c) for c in columns)
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fms_candidates AS
        SELECT {column_list}, extra_columns, source_row,
               {_row_hash_sql(columns)} AS row_hash,
               row_number() OVER (PARTITION BY _uuid ORDER BY source_row) AS copy_in_file
        FROM fms_checked
        WHERE len(errors) = 0
        """
    )
    connection.execute(
        """
        CREATE OR REPLACE TEMP TABLE fms_changes AS
        SELECT c.*, held._uuid IS NOT NULL AS replaces_held
        FROM fms_candidates AS c
        LEFT JOIN raw.fms_submissions AS held ON held._uuid = c._uuid
        WHERE c.copy_in_file = 1 AND (held._uuid IS NULL OR held.row_hash <> c.row_hash)
        """
    )
    candidates = connection.execute("SELECT count(*) FROM fms_candidates").fetchone()[0]
    rows_loaded = connection.execute("SELECT count(*) FROM fms_changes").fetchone()[0]
    connection.execute(
        "DELETE FROM raw.fms_submissions WHERE _uuid IN "
        "(SELECT _uuid FROM fms_changes WHERE replaces_held)"
    )
    connection.execute(
        f"""
        INSERT INTO raw.fms_submissions
        SELECT {column_list}, extra_columns,
               {quote_literal(file_name)}, source_row, row_hash,
               {quote_literal(run_id)}, current_timestamp::TIMESTAMP
        FROM fms_changes
        """
    )
    for table in ("fms_changes", "fms_candidates", "fms_checked"):
        connection.execute(f"DROP TABLE IF EXISTS {table}")
    return LoadCounts(
        rows_read=staged.rows_read,
        rows_loaded=rows_loaded,
        rows_duplicate=candidates - rows_loaded,
        rows_quarantined=rows_quarantined,
    )


def _quarantine_invalid_rows(
    connection: duckdb.DuckDBPyConnection,
    columns: tuple[str, ...],
    staged: StagedFile,
    file_name: str,
    run_id: str,
) -> None:
    record = (
        "to_json({"
        + ", ".join(f"{quote_literal(c)}: {quote_identifier(c)}" for c in columns)
        + "})"
    )
    connection.execute(
        f"""
        INSERT INTO quarantine.rows
        SELECT {quote_literal(run_id)}, 'fms', {quote_literal(file_name)}, source_row,
               e.column, e.reason, e.value, CAST({record} AS VARCHAR)
        FROM (SELECT *, unnest(errors) AS e FROM fms_checked WHERE len(errors) > 0)
        """
    )
    if staged.malformed:
        connection.executemany(
            "INSERT INTO quarantine.rows VALUES (?, 'fms', ?, ?, NULL, ?, NULL, NULL)",
            [(run_id, file_name, m.row_number, m.reason) for m in staged.malformed],
        )
