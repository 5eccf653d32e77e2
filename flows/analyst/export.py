"""`fmw export`: a published table to CSV, Parquet or XLSX, optionally with HXL hashtags.

HXL (the Humanitarian Exchange Language) adds one row of hashtags under the header so
that HDX and HXL tools understand the columns. Published columns have explicit tags;
a column without one gets `#meta+<name>`, so every column is tagged.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import openpyxl

from flows.analyst.query import NothingPublished
from flows.sql import quote_identifier
from flows.warehouse.connection import connect

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


def _read_table(database: Path, table: str) -> tuple[list[str], list[tuple]]:
    if not _TABLE_NAME.match(table):
        raise ExportError(
            f"give the table as schema.table (e.g. marts.fms_corridor_monthly), got {table!r}"
        )
    if not database.exists():
        raise NothingPublished(f"nothing is published yet at {database}: run `fmw refresh`")
    schema, name = table.split(".")
    with connect(database, read_only=True) as connection:
        try:
            cursor = connection.execute(
                f"SELECT * FROM {quote_identifier(schema)}.{quote_identifier(name)}"
            )
        except duckdb.CatalogException as error:
            raise ExportError(f"{table} is not a published table") from error
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()


def _cell(value: object) -> object:
    return "" if value is None else value


def export_table(database: Path, table: str, fmt: str, out: Path, hxl: bool = False) -> Path:
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    if hxl and fmt == "parquet":
        raise ExportError("HXL hashtags need a row under the header: use --format csv or xlsx")
    columns, rows = _read_table(database, table)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        with connect(database, read_only=True) as connection:
            schema, name = table.split(".")
            connection.execute(
                f"COPY (SELECT * FROM {quote_identifier(schema)}.{quote_identifier(name)}) "
                f"TO '{out}' (FORMAT parquet)"
            )
        return out
    header_rows = [columns] + ([[hxl_tag(c) for c in columns]] if hxl else [])
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerows(header_rows)
            writer.writerows([[_cell(v) for v in row] for row in rows])
        return out
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.split(".")[1][:31])
    for line in header_rows:
        sheet.append(line)
    for row in rows:
        sheet.append([None if v is None else v for v in row])
    workbook.save(out)
    return out
