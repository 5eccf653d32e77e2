"""Stage a whole FMS export; a CSV with few rows to skip is validated as it is read.

The load skips validating a row only when it is held exactly as delivered under the same
recipe, the SQL that stages and validates it (flows.ingest.fms.load). Staging the export
first, to find those rows, costs a pass over it; it pays only when many rows are skipped,
as in a cumulative export that repeats an earlier one in its layout. The first rows tell:
a cumulative export starts with what it repeats. When fewer than half of them are held as
delivered (an export in a layout or form version seen for the first time, such as each
layout's first export in a full refresh), DuckDB reads the CSV, validates every row and
writes only the validated table (VALIDATED_TABLE), with the rows and values the load
would have validated. A row held as delivered validates to its held row again: its
verdict is the same either way.

A row's number is its position in that table (its rowid): DuckDB keeps file order through
a plan that streams the CSV reader's rows through projections alone, which is what the
staged table's numbering relies on too (flows.ingest.fms.read). DuckDB plans an IN list of
constants as a join, which may reorder rows: the validation looks choices up in lists
instead (flows.ingest.fms.validation), and the plan is checked before it runs: any other
plan stages the file as before.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.form.xlsform import Form
from flows.ingest.fms.load import (
    remembered_delivery_sql,
    validated_rows_sql,
)
from flows.ingest.fms.read import (
    VALIDATED_TABLE,
    CsvReading,
    StagedFile,
    csv_header,
    drop_staging,
    duckdb_can_open,
    duckdb_read_is_trusted,
    plan_for,
    stage_csv_in_python,
    stage_file,
    staged_view,
    trimmed_or_null,
)

# The first rows of an export that tell whether it repeats deliveries held as delivered.
_PROBED_ROWS = 2000
# From this share of them on, the staging's skipped validation pays for its extra pass.
_REMEMBERED_SHARE_TO_STAGE = 0.5
# The operators of a plan that keeps file order: the reader, and projections of its rows.
_ORDER_KEEPING_OPERATORS = {"READ_CSV", "PROJECTION"}


def stage_export(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    path: Path,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> StagedFile:
    """The export staged as `stage_file` stages it, or validated in one pass when it can be."""
    # A load that failed leaves its tables: they would hold memory through this one.
    connection.execute(f"DROP TABLE IF EXISTS {VALIDATED_TABLE}")
    drop_staging(connection)
    if path.suffix.lower() == ".csv" and duckdb_can_open(path):
        return _stage_csv(connection, form, path, limits)
    return stage_file(connection, form, path, limits)


def _stage_csv(
    connection: duckdb.DuckDBPyConnection, form: Form, path: Path, limits: IngestLimits
) -> StagedFile:
    header, delimiter = csv_header(path)
    reading = CsvReading(header, delimiter, plan_for(form, header), limits.max_cell_bytes)
    validated = StagedFile(
        rows_read=0,
        plan=reading.plan,
        view=staged_view(form, reading.plan, source_row="rowid + 1"),
        csv_reading=reading,
        validated_in_one_pass=True,
    )
    try:
        mostly_remembered = _mostly_remembered(connection, form, validated, path)
        rows_read = None
        if not mostly_remembered:
            rows_read = _validate_in_file_order(connection, form, validated, path)
    except duckdb.InvalidInputException:
        # What DuckDB's reader says of ragged rows, bad bytes, a long line, an open quote:
        # read row by row, to say which rows. Memory, disk or an interrupt fail the file,
        # to be read again by the next refresh.
        connection.execute(f"DROP TABLE IF EXISTS {VALIDATED_TABLE}")
        return stage_csv_in_python(connection, form, path, delimiter, limits)
    if rows_read is None:
        return stage_file(connection, form, path, limits)
    if not duckdb_read_is_trusted(path, rows_read, limits):
        connection.execute(f"DROP TABLE {VALIDATED_TABLE}")
        return stage_csv_in_python(connection, form, path, delimiter, limits)
    return replace(validated, rows_read=rows_read)


def _mostly_remembered(
    connection: duckdb.DuckDBPyConnection, form: Form, staged: StagedFile, path: Path
) -> bool:
    """Whether at least half the export's first rows are held exactly as delivered, as in a
    cumulative export that repeats an earlier one: staging it first skips validating them."""
    assert staged.csv_reading is not None
    remembered = remembered_delivery_sql(form, staged, "head")
    probed, held = connection.execute(
        f"""
        WITH head AS (
            SELECT {trimmed_or_null("_uuid")} AS _uuid, delivered_hash
            FROM ({staged.csv_reading.select_from(path)})
            LIMIT {_PROBED_ROWS}
        )
        SELECT count(*), count(*) FILTER (WHERE {remembered}) FROM head
        """
    ).fetchone()
    return probed > 0 and held >= _REMEMBERED_SHARE_TO_STAGE * probed


def _validate_in_file_order(
    connection: duckdb.DuckDBPyConnection, form: Form, staged: StagedFile, path: Path
) -> int | None:
    """Read and validate the CSV into VALIDATED_TABLE; its rows, or None if DuckDB's plan
    could reorder them (then nothing is read)."""
    if not _create_in_file_order(connection, one_pass_sql(form, staged, path)):
        return None
    return connection.execute(f"SELECT count(*) FROM {VALIDATED_TABLE}").fetchone()[0]


def one_pass_sql(form: Form, staged: StagedFile, path: Path) -> str:
    """The validated rows of the CSV at `path`, read as `staged.csv_reading` reads it, in
    the staged view's values, unnumbered."""
    assert staged.csv_reading is not None
    unnumbered = staged_view(form, staged.plan, source_row="NULL")
    rows = f"(SELECT {unnumbered.projection} FROM ({staged.csv_reading.select_from(path)}))"
    return validated_rows_sql(form, rows, staged.select_multiple_layouts(form))


def _create_in_file_order(connection: duckdb.DuckDBPyConnection, query: str) -> bool:
    """Create VALIDATED_TABLE from `query` if its plan keeps file order."""
    operators = plan_operators(connection, query)
    if "READ_CSV" not in operators or not operators <= _ORDER_KEEPING_OPERATORS:
        return False
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {VALIDATED_TABLE} AS {query}")
    return True


def plan_operators(connection: duckdb.DuckDBPyConnection, query: str) -> set[str]:
    """The names of the operators of DuckDB's physical plan for `query`."""
    explained = connection.execute(f"EXPLAIN (FORMAT json) {query}").fetchall()
    physical = [plan for kind, plan in explained if kind == "physical_plan"]
    found: set[str] = set()
    pending = [node for plan in physical for node in json.loads(plan)]
    while pending:
        node = pending.pop()
        found.add(node["name"])
        pending.extend(node.get("children", []))
    return found
