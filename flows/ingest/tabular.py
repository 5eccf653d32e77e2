"""Load small delivered CSV tables (FMR tallies, exchange rates) where a group of rows
sharing a key is the unit of delivery: a later file's rows for a key replace the held ones.

Rows are read exactly with Python's csv module (these files are small), checked with SQL
conditions inside DuckDB, quarantined with file, row, column and reason when they break a
rule, and otherwise replace the held group for their key. A group delivered again with the
same rows counts as duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.ingest.csv_rows import read_csv_text
from flows.ingest.exceptions import UnreadableFile
from flows.ingest.landing import LandingFile, LoadCounts
from flows.ingest.quarantine import quarantine_checked_rows, quarantine_malformed_rows
from flows.ingest.text import read_text
from flows.sql import quote_identifier, quote_literal

Checks = dict[str, list[tuple[str, str]]]  # column -> [(SQL condition that is an error, reason)]


@dataclass(frozen=True)
class CsvSpec:
    source: str
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    optional: tuple[str, ...] = ()


def read_csv_rows(
    path: Path, spec: CsvSpec, limits: IngestLimits = DEFAULT_INGEST_LIMITS
) -> tuple[pd.DataFrame, list[tuple[int, str]], int, int]:
    """(well-formed rows with source_row, malformed (row, reason), rows read, rows the
    malformed ones stand for)."""
    size = path.stat().st_size
    if size > limits.max_parsed_file_bytes:
        raise UnreadableFile(
            f"the file is {size:,} bytes, more than the {limits.max_parsed_file_bytes:,} "
            "FMW_MAX_PARSED_FILE_MB allows"
        )
    try:
        header, rows = read_csv_text(read_text(path), ",", limits.max_cell_bytes)
    except UnreadableFile as error:
        if "no header row" not in str(error):
            raise
        header, rows = [], []
    missing = [c for c in spec.columns if c not in header and c not in spec.optional]
    if missing:
        raise UnreadableFile(f"not a {spec.source} file: missing column(s) {', '.join(missing)}")
    good: list[dict[str, object]] = []
    malformed: list[tuple[int, str]] = []
    rows_read = malformed_rows = 0
    for row in rows:
        counted = row.rows_counted(len(header))
        rows_read += counted
        problem = row.problem(len(header))
        if problem is not None:
            malformed.append((row.number, problem))
            malformed_rows += counted
            continue
        values = dict(zip(header, row.fields, strict=True))
        good.append(
            {"source_row": row.number}
            | {c: (values.get(c) or "").strip() or None for c in spec.columns}
        )
    frame = pd.DataFrame(good, columns=["source_row", *spec.columns]).astype(
        {c: "object" for c in spec.columns}
    )
    return frame, malformed, rows_read, malformed_rows


def _errors_sql(spec: CsvSpec, checks: Checks) -> str:
    items = []
    for column in spec.columns:
        ident = quote_identifier(column)
        if column not in spec.optional:
            items.append(
                f"CASE WHEN {ident} IS NULL THEN {{'column': {quote_literal(column)}, "
                f"'reason': 'required value is missing', 'value': NULL}} END"
            )
        for condition, reason in checks.get(column, []):
            items.append(
                f"CASE WHEN {ident} IS NOT NULL AND ({condition}) THEN "
                f"{{'column': {quote_literal(column)}, 'reason': {quote_literal(reason)}, "
                f"'value': {ident}}} END"
            )
    return "list_filter([" + ", ".join(items) + "], e -> e IS NOT NULL)"


def load_validated_csv(
    connection: duckdb.DuckDBPyConnection,
    spec: CsvSpec,
    checks: Checks,
    landing: LandingFile,
    run_id: str,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> LoadCounts:
    frame, malformed, rows_read, malformed_rows = read_csv_rows(landing.path, spec, limits)
    columns = ", ".join(quote_identifier(c) for c in spec.columns)
    key = ", ".join(quote_identifier(c) for c in spec.key)
    file_name = quote_literal(landing.name)
    as_text = ", ".join(
        f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}" for c in spec.columns
    )
    connection.register("tabular_frame", frame)
    try:
        connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE tabular_checked AS
            SELECT source_row, {as_text}
            FROM tabular_frame
            """
        )
    finally:
        connection.unregister("tabular_frame")
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE tabular_checked AS "
        f"SELECT *, {_errors_sql(spec, checks)} AS errors FROM tabular_checked"
    )
    quarantine_checked_rows(
        connection, "tabular_checked", spec.columns, run_id, spec.source, landing.name
    )
    quarantine_malformed_rows(connection, run_id, spec.source, landing.name, malformed)
    quarantined = (
        connection.execute("SELECT count(*) FROM tabular_checked WHERE len(errors) > 0").fetchone()[
            0
        ]
        + malformed_rows
    )

    row_hash = f"md5(concat_ws(chr(31), {columns}))"
    group_hash = f"md5(string_agg({row_hash}, ',' ORDER BY {row_hash}))"
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tabular_changed_keys AS
        WITH delivered AS (
            SELECT {key}, {group_hash} AS content FROM tabular_checked
            WHERE len(errors) = 0 GROUP BY ALL
        ),
        held AS (
            SELECT {key}, {group_hash} AS content FROM {spec.table}
            WHERE ({key}) IN (SELECT ({key}) FROM delivered) GROUP BY ALL
        )
        SELECT delivered.* EXCLUDE (content) FROM delivered
        LEFT JOIN held USING ({key})
        WHERE held.content IS DISTINCT FROM delivered.content
        """
    )
    connection.execute(
        f"DELETE FROM {spec.table} WHERE ({key}) IN (SELECT ({key}) FROM tabular_changed_keys)"
    )
    loaded = connection.execute(
        f"""
        INSERT INTO {spec.table}
        SELECT {columns}, {file_name}, source_row, {quote_literal(run_id)}
        FROM tabular_checked
        WHERE len(errors) = 0 AND ({key}) IN (SELECT ({key}) FROM tabular_changed_keys)
        """
    ).fetchone()[0]
    for table in ("tabular_checked", "tabular_changed_keys"):
        connection.execute(f"DROP TABLE IF EXISTS {table}")
    return LoadCounts(
        rows_read=rows_read,
        rows_loaded=loaded,
        rows_duplicate=rows_read - loaded - quarantined,
        rows_quarantined=quarantined,
    )
