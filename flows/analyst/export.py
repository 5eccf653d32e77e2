"""`fmw export`: a published table to CSV, Parquet or XLSX, optionally with HXL hashtags.

Every file is safe to open: CSV and XLSX text never starts a formula, and the output path
reaches DuckDB as a parameter, never as SQL text.

HXL (the Humanitarian Exchange Language) adds one row of hashtags under the header so
that HDX and HXL tools understand the columns. Published columns have explicit tags;
a column without one gets `#meta+<name>`, so every column is tagged.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import duckdb
import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from flows.analyst.query import NothingPublished, where
from flows.analyst.safe_cells import neutralise, safe_cell, xlsx_text
from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from flows.sql import quote_identifier
from flows.warehouse.lake import Lake, connect_analyst, is_published

EXPORT_FORMATS = ("csv", "parquet", "xlsx")

HXL_TAGS = {
    "month": "#date+month",
    "quarter": "#date+quarter",
    "date": "#date",
    "published": "#date+published",
    "direction": "#indicator+direction",
    "adm1_code": "#adm1+code",
    "origin_adm1_code": "#adm1+code+origin",
    "origin_adm2_code": "#adm2+code+origin",
    "dest_country_iso3": "#country+code+destination",
    "fmp_code": "#loc+code+fmp",
    "respondents": "#affected",
    "female_respondents": "#affected+f",
    "male_respondents": "#affected+m",
    "individuals": "#affected+total",
    "public_stories": "#output+stories+public",
    "suppressed": "#meta+suppressed",
}

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


class ExportError(ValueError):
    pass


def hxl_tag(column: str) -> str:
    return HXL_TAGS.get(column, "#meta+" + re.sub(r"[^a-z0-9_]", "_", column.lower()))


def _split(table: str) -> tuple[str, str]:
    if not _TABLE_NAME.match(table):
        raise ExportError(
            f"give the table as schema.table (e.g. marts.fms_corridor_monthly), got {table!r}"
        )
    schema, name = table.split(".")
    return schema, name


def _select(table: str) -> str:
    schema, name = _split(table)
    return f"SELECT * FROM {quote_identifier(schema)}.{quote_identifier(name)}"


def _run(connection: duckdb.DuckDBPyConnection, sql: str, table: str, *params: object):  # noqa: ANN202 - a DuckDB cursor
    try:
        return connection.execute(sql, list(params))
    except duckdb.CatalogException as error:
        raise ExportError(f"{table} is not a published table") from error


def _read_table(
    database: Path | Lake, table: str, memory_limit: str
) -> tuple[list[str], list[tuple]]:
    select = _select(table)
    with connect_analyst(database, memory_limit=memory_limit) as connection:
        cursor = _run(connection, select, table)
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()


def _write_parquet(database: Path | Lake, table: str, out: Path, memory_limit: str) -> None:
    """DuckDB writes the file; the path is a bound parameter, never SQL text, and the
    confined connection may write that one file and nothing else. It writes a new file
    beside `out` that then replaces it whole (DuckDB would replace an existing file through
    a temporary name of its own, which the confinement refuses)."""
    partial = out.resolve().with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with connect_analyst(database, memory_limit, writable_file=partial) as connection:
            _run(connection, f"COPY ({_select(table)}) TO ? (FORMAT parquet)", table, str(partial))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _write_csv(out: Path, header_rows: list[list[str]], rows: list[tuple]) -> None:
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([[neutralise(c) for c in line] for line in header_rows])
        writer.writerows([["" if v is None else safe_cell(v) for v in row] for row in rows])


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell | None:
    """Text as a string cell (openpyxl would make `=...` a formula), anything else as is."""
    if value is None:
        return None
    if not isinstance(value, str):
        return WriteOnlyCell(sheet, value=value)
    cell = WriteOnlyCell(sheet, value=xlsx_text(value))
    cell.data_type = "s"
    return cell


def _write_xlsx(out: Path, sheet_name: str, header_rows: list[list[str]], rows: list[tuple]):  # noqa: ANN202
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_name[:31])
    for line in [*header_rows, *rows]:
        sheet.append([_xlsx_cell(sheet, v) for v in line])
    workbook.save(out)


def export_table(
    database: Path | Lake,
    table: str,
    fmt: str,
    out: Path,
    hxl: bool = False,
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> Path:
    """Write a published table to `out`. Text cells of CSV and XLSX are neutralised
    (flows.analyst.safe_cells), so the file is safe to open in a spreadsheet."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    if hxl and fmt == "parquet":
        raise ExportError("HXL hashtags need a row under the header: use --format csv or xlsx")
    _split(table)
    if not is_published(database):
        raise NothingPublished(f"nothing is published yet at {where(database)}: run `fmw refresh`")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        _write_parquet(database, table, out, memory_limit)
        return out
    columns, rows = _read_table(database, table, memory_limit)
    header_rows = [columns] + ([[hxl_tag(c) for c in columns]] if hxl else [])
    if fmt == "csv":
        _write_csv(out, header_rows, rows)
    else:
        _write_xlsx(out, table.split(".")[1], header_rows, rows)
    return out
