"""Read-only queries of the published database, formatted for a terminal or a pipe.

Analysts' SQL runs on a confined connection (one statement, the published file and
nothing else); CSV output is neutralised like `fmw export`'s, since it is opened in
spreadsheets as well.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from flows.analyst.safe_cells import neutralise
from flows.analyst.statements import QueryRefused, single_query
from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from flows.warehouse.lake import Lake, connect_analyst, is_published

FORMATS = ("table", "csv", "json")


class NothingPublished(FileNotFoundError):
    pass


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _csv_text(value: object) -> str:
    return neutralise(value) if isinstance(value, str) else _text(value)


def _json_value(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def format_rows(columns: list[str], rows: list[tuple], fmt: str) -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([neutralise(c) for c in columns])
        writer.writerows([[_csv_text(v) for v in row] for row in rows])
        return buffer.getvalue()
    if fmt == "json":
        records = [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        return json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    cells = [columns, *[[_text(v) if v is not None else "NULL" for v in row] for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


def _refusal(error: duckdb.Error) -> QueryRefused | None:
    """DuckDB's own refusals (the confinement), said as what they are."""
    first_line = str(error).splitlines()[0]
    if isinstance(error, duckdb.PermissionException):
        return QueryRefused(
            "fmw query reads the published database only; it cannot open files, "
            f"other databases or extensions ({first_line})"
        )
    if "configuration has been locked" in first_line:
        return QueryRefused(f"fmw query's settings are fixed ({first_line})")
    return None


def run_confined(
    database: Path | Lake, sql: str, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
) -> tuple[list[str], list[tuple]]:
    """Columns and rows of one read-only query of `database`, on a confined connection."""
    with connect_analyst(database, memory_limit=memory_limit) as connection:
        try:
            single_query(connection, sql)
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchall() if columns else []
        except duckdb.Error as error:
            refusal = _refusal(error)
            if refusal is None:
                raise
            raise refusal from error


def where(database: Path | Lake) -> str:
    return f"{database.url} (published catalog)" if isinstance(database, Lake) else str(database)


def query_published(
    database: Path | Lake,
    sql: str,
    fmt: str = "table",
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not is_published(database):
        raise NothingPublished(f"nothing is published yet at {where(database)}: run `fmw refresh`")
    columns, rows = run_confined(database, sql, memory_limit)
    return format_rows(columns, rows, fmt)
