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
    """A 64-bit content hash: enough to tell a changed version of one _uuid from the held one."""
    hashed = [c for c in columns if c not in _NOT_HASHED] + ["extra_columns"]
    return f"CAST(hash({', '.join(quote_identifier(c) for c in hashed)}) AS VARCHAR)"


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
        f"""
        CREATE OR REPLACE TEMP TABLE fms_checked AS
        SELECT *, CASE WHEN len(errors) = 0 THEN {_row_hash_sql(columns)} END AS row_hash
        FROM ({validation_select(form, STAGED_TABLE, layouts)})
        """
    )
    _quarantine_invalid_rows(connection, columns, staged, file_name, run_id)
    valid, invalid = connection.execute(
        "SELECT count(*) FILTER (WHERE len(errors) = 0), count(*) FILTER (WHERE len(errors) > 0) "
        "FROM fms_checked"
    ).fetchone()

    # New submissions and changed versions; later copies of one _uuid in a file are duplicates.
    column_list = ", ".join(quote_identifier(c) for c in columns)
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fms_changes AS
        SELECT {", ".join(f"c.{quote_identifier(c)}" for c in columns)}, c.extra_columns,
               c.source_row, c.row_hash, held._uuid IS NOT NULL AS replaces_held
        FROM fms_checked AS c
        LEFT JOIN raw.fms_submissions AS held ON held._uuid = c._uuid
        WHERE len(c.errors) = 0 AND (held._uuid IS NULL OR held.row_hash <> c.row_hash)
        QUALIFY row_number() OVER (PARTITION BY c._uuid ORDER BY c.source_row) = 1
        """
    )
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
    for table in ("fms_changes", "fms_checked"):
        connection.execute(f"DROP TABLE IF EXISTS {table}")
    return LoadCounts(
        rows_read=staged.rows_read,
        rows_loaded=rows_loaded,
        rows_duplicate=valid - rows_loaded,
        rows_quarantined=invalid + len(staged.malformed),
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
