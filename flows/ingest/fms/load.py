"""Load one staged FMS export into the raw layer: validate, quarantine, deduplicate, upsert.

A submission is its `_uuid`. A row whose `_uuid` is already held with the same content is
a duplicate (cumulative exports); with different content (a supervisor changed its
validation status, say) it replaces the held version, so the raw layer always holds the
latest delivered version of each submission. Edits (`meta/deprecatedID`) stay separate
rows here and are resolved in dbt, which makes arrival order irrelevant for them. One file
holding one `_uuid` twice with different content cannot say which is right: every version
of it in that file is quarantined ("conflicting versions of one submission in one file");
identical repeats are duplicates.

Exports are cumulative, so most rows of a new export are held already, delivered exactly
as before. `raw.fms_deliveries` remembers, for each held submission, every delivery that
validated to it: the `delivered_hash` of its cells as delivered and of the SQL that staged
and validated them. A row whose `_uuid` and `delivered_hash` are remembered would validate
to the held row again, so it is counted as a duplicate without being validated; every
other row is validated. One submission may be remembered in several deliveries (exports in
different layouts: columns, select_multiple encoding, CSV or JSON), so exports that
alternate layouts are each recognised. A submission replaced by another version forgets
its deliveries: delivered again, its old version is validated and replaces the held one.
Each new layout or form version adds a delivery per submission, so the table is kept
bounded: past (KEPT_DELIVERIES + 1) per held submission, each keeps its latest
KEPT_DELIVERIES. A forgotten delivery is only validated again. An export whose first rows
are mostly not remembered (a layout or form first seen, say) is validated whole as it is
read (flows.ingest.fms.one_pass): a remembered row validates to its held row again.
"""

from __future__ import annotations

import hashlib

import duckdb

from flows.form.xlsform import Form, raw_columns
from flows.ingest.fms.read import (
    STAGED_TABLE,
    STAND_IN_TABLE,
    VALIDATED_TABLE,
    StagedFile,
    drop_staging,
)
from flows.ingest.fms.validation import SelectMultipleLayout, validation_select
from flows.ingest.landing import LoadCounts
from flows.ingest.quarantine import quarantine_checked_rows, quarantine_malformed_rows
from flows.sql import quote_identifier, quote_literal
from flows.warehouse.schema import FMS_DELIVERIES_TABLE

# `_tags` is a supervisor's label, not part of the submission's content.
_NOT_HASHED = {"_tags"}

_TO_VALIDATE = "fms_to_validate"
_ROWS_TO_VALIDATE = "fms_rows_to_validate"
_CONFLICTS = "fms_conflicts"
_CHECKED = "fms_checked"
CONFLICT_REASON = "conflicting versions of one submission in one file"

KEPT_DELIVERIES = 3


def _row_hash_sql(columns: tuple[str, ...]) -> str:
    """A 64-bit content hash: enough to tell a changed version of one _uuid from the held one."""
    hashed = [c for c in columns if c not in _NOT_HASHED] + ["extra_columns"]
    return f"CAST(hash({', '.join(quote_identifier(c) for c in hashed)}) AS VARCHAR)"


def delivery_recipe(form: Form, staged: StagedFile) -> str:
    """What a row's delivered hash is bound to besides its cells: the SQL that staged and
    validated it. A row delivered in the same bytes but staged or validated differently
    (another layout, a new form) differs. How rows are numbered is not part of it: a row's
    number never changes its content."""
    validation_sql = validation_select(form, _TO_VALIDATE, staged.select_multiple_layouts(form))
    return hashlib.sha256(f"{staged.view.columns}\n{validation_sql}".encode()).hexdigest()


def _held_delivered_hash_sql(recipe: str, table: str) -> str:
    return f"hash({quote_literal(recipe)}, {table}.delivered_hash)"


def remembered_delivery_sql(form: Form, staged: StagedFile, table: str) -> str:
    """SQL true for a row of `table` (`_uuid` as staged, `delivered_hash`) that this load
    would set aside as held exactly as delivered (`_set_aside_rows_held_as_delivered`)."""
    delivered_hash = _held_delivered_hash_sql(delivery_recipe(form, staged), table)
    return (
        f"EXISTS (SELECT 1 FROM {FMS_DELIVERIES_TABLE} AS remembered "
        f"WHERE remembered._uuid = {table}._uuid AND remembered.delivered_hash = {delivered_hash})"
    )


def rows_not_held_as_delivered_sql(form: Form, staged: StagedFile, table: str) -> str:
    """SELECT of the rows of `table` (`_uuid` as staged, `delivered_hash`) that this load
    would not set aside as held exactly as delivered: `remembered_delivery_sql` negated,
    as an anti join."""
    delivered_hash = _held_delivered_hash_sql(delivery_recipe(form, staged), table)
    return (
        f"SELECT {table}.* FROM {table} ANTI JOIN {FMS_DELIVERIES_TABLE} AS remembered "
        f"ON remembered._uuid = {table}._uuid AND remembered.delivered_hash = {delivered_hash}"
    )


def validated_rows_sql(form: Form, staged: str, layouts: dict[str, SelectMultipleLayout]) -> str:
    """The validated rows of `staged` (flows.ingest.fms.validation), each valid one with the
    hash of its content (`row_hash`)."""
    columns = raw_columns(form)
    return (
        f"SELECT *, CASE WHEN len(errors) = 0 THEN {_row_hash_sql(columns)} END AS row_hash "
        f"FROM ({validation_select(form, staged, layouts)})"
    )


def load_staged_fms(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    staged: StagedFile,
    file_name: str,
    run_id: str,
) -> LoadCounts:
    columns = raw_columns(form)
    recipe = delivery_recipe(form, staged)
    if staged.validated_in_one_pass:
        _find_conflicting_versions(connection, VALIDATED_TABLE)
        held_as_delivered = 0
    else:
        _find_conflicting_versions(connection, STAGED_TABLE)
        held_as_delivered = _set_aside_rows_held_as_delivered(
            connection, staged, _held_delivered_hash_sql(recipe, "staged")
        )
        validated = validated_rows_sql(form, _TO_VALIDATE, staged.select_multiple_layouts(form))
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {VALIDATED_TABLE} AS {validated}")
        connection.execute(f"DROP VIEW {_TO_VALIDATE}")
        drop_staging(connection)
    _create_checked_view(connection, staged)
    _quarantine_invalid_rows(connection, columns, staged, file_name, run_id)
    valid, invalid = connection.execute(
        f"SELECT count(*) FILTER (WHERE len(errors) = 0), count(*) FILTER (WHERE len(errors) > 0) "
        f"FROM {_CHECKED}"
    ).fetchone()
    rows_loaded = _upsert_changes(connection, columns, file_name, run_id)
    _remember_deliveries_of_held_rows(connection, recipe, staged.validated_in_one_pass)
    _forget_all_but_the_latest_deliveries_when_too_many(connection)
    connection.execute(f"DROP VIEW {_CHECKED}")
    for table in (
        "fms_changes",
        VALIDATED_TABLE,
        "fms_held_as_delivered",
        _ROWS_TO_VALIDATE,
        _CONFLICTS,
    ):
        connection.execute(f"DROP TABLE IF EXISTS {table}")
    return LoadCounts(
        rows_read=staged.rows_read,
        rows_loaded=rows_loaded,
        rows_duplicate=held_as_delivered + valid - rows_loaded,
        rows_quarantined=invalid + sum(m.rows for m in staged.malformed),
    )


def _create_checked_view(connection: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """The validated rows, numbered as in the file, every version of a `_uuid` that this
    file delivers in more than one version quarantined, with no row hash."""
    source_row = "CAST(rowid + 1 AS INTEGER)" if staged.validated_in_one_pass else "source_row"
    conflicting = f"_uuid IN (SELECT _uuid FROM {_CONFLICTS})"
    conflict = f"{{'column': '_uuid', 'reason': {quote_literal(CONFLICT_REASON)}, 'value': _uuid}}"
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {_CHECKED} AS
        SELECT * REPLACE (
            {source_row} AS source_row,
            CASE WHEN {conflicting} THEN list_append(errors, {conflict}) ELSE errors END
                AS errors,
            CASE WHEN {conflicting} THEN NULL ELSE row_hash END AS row_hash)
        FROM {VALIDATED_TABLE}
        """
    )


def _find_conflicting_versions(connection: duckdb.DuckDBPyConnection, rows: str) -> None:
    """The `_uuid`s this file delivers in more than one version (its cells as delivered,
    `_tags` aside: a label is not content). min <> max says "more than one hash" without
    count(DISTINCT)'s set per `_uuid`: half the time on millions of rows."""
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_CONFLICTS} AS
        SELECT _uuid FROM {rows} WHERE _uuid IS NOT NULL
        GROUP BY _uuid HAVING min(delivered_hash) <> max(delivered_hash)
        """
    )


def _set_aside_rows_held_as_delivered(
    connection: duckdb.DuckDBPyConnection, staged: StagedFile, delivered_hash: str
) -> int:
    """Find the rows held exactly as delivered; the rest go to `fms_to_validate`."""
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fms_held_as_delivered AS
        SELECT staged.source_row
        FROM {STAGED_TABLE} AS staged
        SEMI JOIN {FMS_DELIVERIES_TABLE} AS remembered
          ON remembered._uuid = staged._uuid AND remembered.delivered_hash = {delivered_hash}
        WHERE staged._uuid NOT IN (SELECT _uuid FROM {_CONFLICTS})
        """
    )
    held = connection.execute("SELECT count(*) FROM fms_held_as_delivered").fetchone()[0]
    if staged.view.with_stand_ins:
        _check_stand_ins_are_held(connection)
    rows = staged.view.all_rows
    if held:
        # Most rows of a cumulative export are held: the few left are picked by rowid.
        left = staged.view.file_rowids_where_source_row(
            "NOT IN (SELECT source_row FROM fms_held_as_delivered)"
        )
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {_ROWS_TO_VALIDATE} AS {left}")
        rows = staged.view.rows_with_file_rowid_in(f"SELECT file_rowid FROM {_ROWS_TO_VALIDATE}")
    connection.execute(f"CREATE OR REPLACE TEMP VIEW {_TO_VALIDATE} AS {rows}")
    return held


class StandInsNotHeld(RuntimeError):
    """Rows staged by their keys alone that the load would validate: the export memory that
    vouched for them (flows.ingest.fms.repeats) no longer matches the raw layer. Nothing in
    the file is at fault; the refresh forgets that memory and the next reads it whole."""


def _check_stand_ins_are_held(connection: duckdb.DuckDBPyConnection) -> None:
    """A stand-in holds only a row's keys (flows.ingest.fms.repeats), so it must be a row
    this load sets aside: one it validated would be loaded or quarantined without its
    values."""
    (not_held,) = connection.execute(
        f"""
        SELECT count(*) FROM {STAND_IN_TABLE} AS stand_in
        ANTI JOIN fms_held_as_delivered AS held ON held.source_row = stand_in.file_row
        """
    ).fetchone()
    if not_held:
        raise StandInsNotHeld(
            f"{not_held} rows staged by their keys alone are not held as delivered: "
            "the export memory no longer matches the raw layer"
        )


def _remember_deliveries_of_held_rows(
    connection: duckdb.DuckDBPyConnection, recipe: str, validated_every_row: bool
) -> None:
    """After the upsert: a replaced submission forgets the deliveries of its old version,
    and every valid row of this file that equals its held row is remembered. So every
    remembered delivery is one of the held version: `_set_aside_rows_held_as_delivered`
    needs no other check. A row set aside is remembered already; where no row was set
    aside (`validated_every_row`), a delivery already remembered is not added twice."""
    connection.execute(
        f"DELETE FROM {FMS_DELIVERIES_TABLE} WHERE _uuid IN "
        "(SELECT _uuid FROM fms_changes WHERE replaces_held)"
    )
    delivered_hash = _held_delivered_hash_sql(recipe, "checked")
    not_yet_remembered = (
        f"ANTI JOIN {FMS_DELIVERIES_TABLE} AS remembered "
        f"ON remembered._uuid = checked._uuid AND remembered.delivered_hash = {delivered_hash}"
        if validated_every_row
        else ""
    )
    connection.execute(
        f"""
        INSERT INTO {FMS_DELIVERIES_TABLE}
        SELECT DISTINCT checked._uuid, {delivered_hash}, current_timestamp::TIMESTAMP
        FROM {_CHECKED} AS checked
        SEMI JOIN raw.fms_submissions AS held
          ON held._uuid = checked._uuid AND held.row_hash = checked.row_hash
        {not_yet_remembered}
        WHERE len(checked.errors) = 0
        """
    )


def _forget_all_but_the_latest_deliveries_when_too_many(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    remembered, held = connection.execute(
        f"SELECT (SELECT count(*) FROM {FMS_DELIVERIES_TABLE}), "
        "(SELECT count(*) FROM raw.fms_submissions)"
    ).fetchone()
    if remembered <= (KEPT_DELIVERIES + 1) * held:
        return
    connection.execute(
        f"""
        DELETE FROM {FMS_DELIVERIES_TABLE} WHERE rowid IN (
            SELECT rowid FROM {FMS_DELIVERIES_TABLE}
            QUALIFY row_number() OVER (PARTITION BY _uuid ORDER BY remembered_at DESC)
                > {KEPT_DELIVERIES}
        )
        """
    )


def _upsert_changes(
    connection: duckdb.DuckDBPyConnection,
    columns: tuple[str, ...],
    file_name: str,
    run_id: str,
) -> int:
    """Insert new submissions and changed versions; return how many rows that was.

    Later copies of one _uuid in a file are duplicates. The choice is made on narrow rows
    (row number, _uuid) and only the chosen rows are copied whole.
    """
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fms_changes AS
        SELECT c.source_row, c._uuid, held._uuid IS NOT NULL AS replaces_held
        FROM {_CHECKED} AS c
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
    column_list = ", ".join(quote_identifier(c) for c in columns)
    connection.execute(
        f"""
        INSERT INTO raw.fms_submissions BY NAME
        SELECT {column_list}, extra_columns,
               {quote_literal(file_name)} AS source_file, source_row, row_hash,
               {quote_literal(run_id)} AS loaded_run_id,
               current_timestamp::TIMESTAMP AS loaded_at
        FROM {_CHECKED} AS checked
        WHERE source_row IN (SELECT source_row FROM fms_changes)
        """
    )
    return rows_loaded


def _quarantine_invalid_rows(
    connection: duckdb.DuckDBPyConnection,
    columns: tuple[str, ...],
    staged: StagedFile,
    file_name: str,
    run_id: str,
) -> None:
    quarantine_checked_rows(connection, _CHECKED, columns, run_id, "fms", file_name)
    quarantine_malformed_rows(
        connection, run_id, "fms", file_name, [(m.row_number, m.reason) for m in staged.malformed]
    )
