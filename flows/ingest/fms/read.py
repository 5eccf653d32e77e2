"""Read one FMS export (CSV, XLSX or Kobo API JSON) into a staged DuckDB table.

The staged table `fms_staged` has `source_row` (1 = first data row; the header is not
counted), one VARCHAR column per kept header under its raw-layer name, `extra_columns`
(JSON of unknown columns) and `delivered_hash`, a hash of the row exactly as delivered
(see flows.ingest.fms.load). Direct identifiers are never selected, so they are never stored.
Well-formed CSV goes through DuckDB's own reader; anything else goes through Python and
is handed to DuckDB as a frame.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.form.xlsform import Form, raw_form_columns, raw_system_columns
from flows.ingest.csv_rows import check_unique_header, read_csv_text
from flows.ingest.exceptions import UnreadableFile
from flows.ingest.fms.columns import (
    REQUIRED_HEADERS,
    ColumnPlan,
    plan_columns,
)
from flows.ingest.fms.validation import SelectMultipleLayout
from flows.ingest.text import decode_text, read_text
from flows.sql import quote_identifier, quote_literal

STAGED_TABLE = "fms_staged"
# The validated rows of one export (flows.ingest.fms.validation), before the load checks
# them against each other and the held rows.
VALIDATED_TABLE = "fms_validated"


@dataclass(frozen=True)
class MalformedRow:
    row_number: int
    reason: str
    rows: int = 1  # delivered rows it stands for (an open quote joins several)


# The repeated rows of a cumulative export that stand in by their keys alone (`file_row`,
# `_uuid`, `delivered_hash`: flows.ingest.fms.repeats), beside the parsed rows of
# `fms_file_rows`. Kept apart: every other cell of a stand-in is NULL, and a temp table of
# millions of rows with sixty NULL columns took seconds and gigabytes to write.
STAND_IN_TABLE = "fms_stand_in_rows"


@dataclass(frozen=True)
class StagedView:
    columns: str  # its select list over `fms_file_rows`, source_row aside
    source_row: str  # its `source_row` over `fms_file_rows`
    with_stand_ins: bool = False  # the staged rows include STAND_IN_TABLE's

    @property
    def projection(self) -> str:
        return f"CAST({self.source_row} AS INTEGER) AS source_row, {self.columns}"

    @property
    def file_rows(self) -> str:
        """Every staged row as delivered text: `fms_file_rows`, and the stand-ins if any."""
        if not self.with_stand_ins:
            return "fms_file_rows"
        return f"(SELECT * FROM fms_file_rows UNION ALL BY NAME SELECT * FROM {STAND_IN_TABLE})"

    @property
    def sql(self) -> str:
        """How the staged view turns the delivered text into raw values."""
        return (
            f"CREATE OR REPLACE TEMP VIEW {STAGED_TABLE} AS SELECT {self.projection} "
            f"FROM {self.file_rows}"
        )

    @property
    def all_rows(self) -> str:
        """The staged view's query."""
        return f"SELECT {self.projection} FROM {self.file_rows}"

    def file_rowids_where_source_row(self, condition: str) -> str:
        """The `fms_file_rows` rowids of the rows whose source_row meets `condition`.
        Stand-ins are not among them: the load checks that it sets each one aside."""
        return f"SELECT rowid AS file_rowid FROM fms_file_rows WHERE {self.source_row} {condition}"

    def rows_with_file_rowid_in(self, rowids: str) -> str:
        """The staged view's rows whose `fms_file_rows` rowid the query `rowids` gives. A
        filter on rowid is one DuckDB pushes into the scan: row groups holding none of
        those rows are skipped, not read (a staged export of a million rows outgrows
        memory, so reading it again means reading it back from disk)."""
        return f"SELECT {self.projection} FROM fms_file_rows WHERE rowid IN ({rowids})"


def drop_staging(connection: duckdb.DuckDBPyConnection) -> None:
    """Free what staging holds once its rows are validated: a staged export of a million
    rows outgrows DuckDB's memory limit, and what the load writes next needs the room."""
    connection.execute(f"DROP VIEW IF EXISTS {STAGED_TABLE}")
    connection.execute("DROP TABLE IF EXISTS fms_file_rows")
    connection.execute(f"DROP TABLE IF EXISTS {STAND_IN_TABLE}")


@dataclass
class StagedFile:
    rows_read: int
    plan: ColumnPlan
    view: StagedView
    malformed: list[MalformedRow] = field(default_factory=list)
    # Set when DuckDB's reader staged the file, one row per line it read.
    csv_reading: CsvReading | None = None
    # Set when the rows were validated as they were read (flows.ingest.fms.one_pass): they
    # are in VALIDATED_TABLE, numbered by its rowid, and nothing is staged.
    validated_in_one_pass: bool = False

    @property
    def row_keys(self) -> str:
        """Each row's number in the file (`file_row`), `_uuid` and `delivered_hash`."""
        if self.validated_in_one_pass:
            return (
                "SELECT CAST(rowid + 1 AS INTEGER) AS file_row, _uuid, delivered_hash "
                f"FROM {VALIDATED_TABLE}"
            )
        return (
            f"SELECT CAST({self.view.source_row} AS INTEGER) AS file_row, _uuid, delivered_hash "
            f"FROM {self.view.file_rows}"
        )

    def select_multiple_layouts(self, form: Form) -> dict[str, SelectMultipleLayout]:
        layouts = {}
        for f in form.stored_fields:
            if f.type != "select_multiple":
                continue
            options = self.plan.option_columns_of(f.name)
            layouts[f.name] = SelectMultipleLayout(
                has_combined_column=f.name in self.plan.fields_with_combined_column,
                option_columns={opt: f"{f.name}/{opt}" for opt in options},
            )
        return layouts


def stage_file(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    path: Path,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> StagedFile:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _stage_csv(connection, form, path, limits)
    if suffix == ".xlsx":
        return _stage_rows(connection, form, *_xlsx_rows(path, limits))
    if suffix == ".json":
        return _stage_json(connection, form, path, limits)
    raise UnreadableFile(f"unsupported file type {suffix!r} (expected .csv, .xlsx or .json)")


def stage_csv_in_python(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    path: Path,
    delimiter: str,
    limits: IngestLimits,
) -> StagedFile:
    """Stage a CSV read row by row in Python, which names each malformed row and knows the
    lines each row spans: for a file DuckDB's reader fails on or may misread."""
    return _stage_rows(connection, form, *_csv_rows(path, delimiter, limits))


def _check_size(path: Path, limits: IngestLimits, what: str) -> None:
    size = path.stat().st_size
    if size > limits.max_parsed_file_bytes:
        raise UnreadableFile(
            f"{what} is {size:,} bytes, more than the {limits.max_parsed_file_bytes:,} "
            "FMW_MAX_PARSED_FILE_MB allows"
        )


# --- CSV -------------------------------------------------------------------------------


def csv_header(path: Path) -> tuple[list[str], str]:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    text = decode_text(head, cut_at_end=True)
    first_line = text.splitlines()[0] if text else ""
    if not first_line.strip():
        raise UnreadableFile("empty file: no header row")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=delimiter))]
    check_unique_header(header)
    return header, delimiter


_NOT_CONTENT = {"_tags"}

# DuckDB's reader takes its path as a glob pattern: a file named `*.csv` would read them all.
_GLOB_CHARACTERS = frozenset("*?[]{}")


def duckdb_can_open(path: Path) -> bool:
    """DuckDB's reader takes a glob pattern in UTF-8: a name with a glob character or with
    bytes that are not UTF-8 is read in Python instead."""
    text = str(path)
    return not (_GLOB_CHARACTERS & set(text)) and text.isprintable() and _is_utf8(text)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _stage_csv(
    connection: duckdb.DuckDBPyConnection, form: Form, path: Path, limits: IngestLimits
) -> StagedFile:
    header, delimiter = csv_header(path)
    plan = plan_for(form, header)
    if not duckdb_can_open(path):
        return stage_csv_in_python(connection, form, path, delimiter, limits)
    reading = CsvReading(header, delimiter, plan, limits.max_cell_bytes)
    try:
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE fms_file_rows AS {reading.select_from(path)}"
        )
    except duckdb.Error:
        # Ragged rows, bad bytes, an open quote, a long line: read it again exactly, row by
        # row, to say which rows.
        return stage_csv_in_python(connection, form, path, delimiter, limits)
    rows_read = connection.execute("SELECT count(*) FROM fms_file_rows").fetchone()[0]
    if not duckdb_read_is_trusted(path, rows_read, limits):
        return stage_csv_in_python(connection, form, path, delimiter, limits)
    view = _create_staged_view(connection, form, plan, source_row="rowid + 1")
    return StagedFile(rows_read=rows_read, plan=plan, view=view, csv_reading=reading)


@dataclass(frozen=True)
class CsvReading:
    """How DuckDB's reader turns one CSV layout (header, delimiter) into `fms_file_rows`:
    each line it reads becomes a row that depends on that line's bytes alone."""

    header: list[str]
    delimiter: str
    plan: ColumnPlan
    max_cell_bytes: int

    def select_from(self, path: Path) -> str:
        header = self.header
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
        projection = ", ".join(
            f"c{header.index(h)} AS {quote_identifier(_staged_name(self.plan, h))}"
            for h in _kept_headers(self.plan)
        )
        extras = _extras_json({h: f"c{header.index(h)}" for h in self.plan.extras})
        delivered = _delivered_hash(
            self.plan, lambda h: f"c{header.index(h)}", lambda h: f"c{header.index(h)}"
        )
        return f"""
            SELECT {projection}, {extras} AS extra_columns, {delivered} AS delivered_hash
            FROM read_csv({quote_literal(str(path))}, delim={quote_literal(self.delimiter)},
                header=true, auto_detect=false, columns={{{columns}}},
                quote='"', escape='"', strict_mode=true, null_padding=false,
                max_line_size={self.max_cell_bytes})
            """

    @property
    def recipe(self) -> str:
        """What a row read this way depends on besides its bytes: the SQL, for any file,
        and the DuckDB that runs it (its hash() makes the delivered hash)."""
        sql = self.select_from(Path("<file>"))
        return hashlib.sha256(f"{duckdb.__version__}\n{sql}".encode()).hexdigest()


def duckdb_read_is_trusted(path: Path, rows_read: int, limits: IngestLimits) -> bool:
    """Whether the rows DuckDB read from the CSV at `path` stand: not when some cells of a
    file small enough to re-read hold line breaks, where a quote left open may have joined
    rows (re-read row by row, each row knows the lines it spans: flows.ingest.csv_rows).
    A file too large to re-read in Python keeps DuckDB's reading: notes with line breaks
    are far more common there than a quote that closes in the same column."""
    small = path.stat().st_size <= limits.max_parsed_file_bytes
    return not (small and _physical_lines(path) > rows_read + 1)


def _physical_lines(path: Path) -> int:
    """Lines of the file, a last line without its line break included."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def _csv_rows(
    path: Path, delimiter: str, limits: IngestLimits
) -> tuple[list[str], list[tuple[int, list[str]]], int, list[MalformedRow]]:
    _check_size(path, limits, "a CSV file that DuckDB's reader cannot read, to be read in Python,")
    header, parsed = read_csv_text(read_text(path), delimiter, limits.max_cell_bytes)
    rows: list[tuple[int, list[str]]] = []
    malformed: list[MalformedRow] = []
    for row in parsed:
        problem = row.problem(len(header))
        if problem is None:
            rows.append((row.number, row.fields))
        else:
            malformed.append(MalformedRow(row.number, problem, row.rows_counted(len(header))))
    rows_read = sum(row.rows_counted(len(header)) for row in parsed)
    return header, rows, rows_read, malformed


# --- XLSX and JSON ---------------------------------------------------------------------


def _cell_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# A cell's reference (`r="XFD1048576"`) or a row's (`r="1048576"`) in a worksheet's XML.
_REFERENCE = re.compile(rb'\br="([A-Z]{0,3})([0-9]{1,7})"')


@dataclass
class _SheetExtent:
    """The rows and columns a worksheet's cells reach: the reader allocates all of them."""

    rows: int = 0
    columns: int = 0

    def see(self, xml: bytes) -> None:
        for letters, digits in _REFERENCE.findall(xml):
            self.rows = max(self.rows, int(digits))
            column = 0
            for letter in letters:
                column = column * 26 + letter - 64
            self.columns = max(self.columns, column)


def _unpack_within(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int, cells_allowed: int
) -> int:
    """Unpack one member, counting its bytes (it stops past `budget`); UnreadableFile when
    it is a sheet whose cells reach beyond `cells_allowed`."""
    unpacked, extent, carry = 0, _SheetExtent(), b""
    is_sheet = member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")
    with archive.open(member) as content:
        while chunk := content.read(1 << 20):
            unpacked += len(chunk)
            if unpacked > budget:
                break
            if is_sheet:
                # A reference cut by the chunk's end is whole in the next look.
                extent.see(carry + chunk)
                carry = chunk[-32:]
    if extent.rows * extent.columns > cells_allowed:
        raise UnreadableFile(
            f"cannot read XLSX: a sheet's cells reach {extent.rows:,} rows x "
            f"{extent.columns:,} columns, more than the {cells_allowed:,} cells "
            "FMW_MAX_PARSED_FILE_MB allows the reader to lay out"
        )
    return unpacked


# What the reader lays out per cell of a sheet's range, filled or not (calamine's cell,
# Python's list slot), with room for the values: a far cell allocates the whole rectangle.
_BYTES_PER_CELL = 16


def _check_xlsx_content(path: Path, limits: IngestLimits) -> None:
    """Refuse a workbook whose content unpacks beyond the limit (a zip bomb), or whose
    sheet reaches a cell so far that the reader would lay out gigabytes of empty cells,
    before any reader unpacks it: by the sizes it declares, then by what really comes out."""
    limit = limits.max_parsed_file_bytes
    too_large = (
        "cannot read XLSX: its content unpacks to more than the "
        f"{limit:,} bytes FMW_MAX_PARSED_FILE_MB allows (a zip bomb, or a workbook too large)"
    )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > limit:
                raise UnreadableFile(too_large)
            unpacked = 0
            for member in members:
                unpacked += _unpack_within(
                    archive, member, limit - unpacked, limit // _BYTES_PER_CELL
                )
                if unpacked > limit:
                    raise UnreadableFile(too_large)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise UnreadableFile(f"cannot read XLSX: not a sound zip archive ({error})") from error


def _xlsx_rows(
    path: Path, limits: IngestLimits
) -> tuple[list[str], list[tuple[int, list[str]]], int]:
    from python_calamine import CalamineWorkbook

    _check_xlsx_content(path, limits)
    try:
        with path.open("rb") as handle:  # any name, UTF-8 or not
            workbook = CalamineWorkbook.from_filelike(handle)
            sheet = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises its own types for every kind of damage
        raise UnreadableFile(f"cannot read XLSX: {error}") from error
    if not sheet:
        raise UnreadableFile("the first sheet is empty: no header row")
    header = [(_cell_text(h) or "").strip() for h in sheet[0]]
    check_unique_header(header)
    rows = []
    for number, raw in enumerate(sheet[1:], start=1):
        if all(_cell_text(v) is None for v in raw):
            continue  # calamine pads the used range with empty rows
        rows.append((number, [_cell_text(v) for v in raw]))
    return header, rows, len(rows)


def _json_value(key: str, value: Any) -> str | None:
    if key == "_validation_status":
        if isinstance(value, dict):
            return value.get("uid") or None
        return _cell_text(value)
    return _cell_text(value)


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels inside `value` (no recursion:
    a value nested deep enough to matter would exhaust Python's stack)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth >= limit:
                return True
            stack.extend((c, depth + 1) for c in item if isinstance(c, list | dict))
    return False


def _kobo_document(path: Path, limits: IngestLimits) -> dict[str, Any]:
    _check_size(path, limits, "the JSON file")
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"invalid JSON: {error}") from error
    except RecursionError as error:
        raise UnreadableFile("JSON nested deeper than Python's parser can follow") from error
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise UnreadableFile("not a Kobo API export: no 'results' list")
    count, records = document.get("count"), document["results"]
    single_page = document.get("next") is None and document.get("previous") is None
    # On a page of a longer answer `count` is the total of all pages; on a single page it is
    # what the page holds, and anything else means an export cut short or edited by hand.
    if single_page and count is not None and count != len(records):
        raise UnreadableFile(
            f"'count' says {count!r} but 'results' holds {len(records)} submissions, and "
            "there is no other page: the export is incomplete or edited; export it again"
        )
    return document


def _stage_json(
    connection: duckdb.DuckDBPyConnection, form: Form, path: Path, limits: IngestLimits
) -> StagedFile:
    records = _kobo_document(path, limits)["results"]
    header: list[str] = []
    seen: set[str] = set()
    for record in records:
        if isinstance(record, dict):
            for key in record:
                if key not in seen:
                    seen.add(key)
                    header.append(key)
    if not records:
        header = list(REQUIRED_HEADERS)  # an empty export is valid: zero rows, nothing to plan
    rows: list[tuple[int, list[str | None]]] = []
    malformed: list[MalformedRow] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            malformed.append(MalformedRow(number, "result is not a JSON object"))
            continue
        if _nested_deeper_than(record, limits.max_nesting_depth):
            malformed.append(
                MalformedRow(
                    number,
                    f"a value nests lists or objects deeper than the {limits.max_nesting_depth} "
                    "levels FMW_MAX_NESTING_DEPTH allows",
                )
            )
            continue
        rows.append((number, [_json_value(k, record.get(k)) for k in header]))
    staged = _stage_rows(connection, form, header, rows, len(records))
    staged.malformed.extend(malformed)
    return staged


# --- shared ----------------------------------------------------------------------------


def plan_for(form: Form, header: list[str]) -> ColumnPlan:
    try:
        return plan_columns(form, header)
    except ValueError as error:
        raise UnreadableFile(str(error)) from error


def _kept_headers(plan: ColumnPlan) -> list[str]:
    return [*plan.kept, *plan.options]


def _staged_name(plan: ColumnPlan, header: str) -> str:
    if header in plan.kept:
        return plan.kept[header]
    name, option = plan.options[header]
    return f"{name}/{option}"


def _extras_json(sql_by_header: dict[str, str]) -> str:
    if not sql_by_header:
        return "CAST(NULL AS VARCHAR)"
    entries = ", ".join(
        f"{{'k': {quote_literal(h)}, 'v': {sql}}}" for h, sql in sql_by_header.items()
    )
    return (
        f"nullif(CAST(to_json(map_from_entries(list_filter([{entries}], e -> e.v IS NOT NULL)))"
        " AS VARCHAR), '{}')"
    )


def _delivered_hash(
    plan: ColumnPlan, kept_sql: Callable[[str], str], extra_sql: Callable[[str], str]
) -> str:
    """One 64-bit hash of the kept and extra cells as delivered, each under its name, in
    name order: the same cells in another column order hash the same. `_tags` (a
    supervisor's label, not content: see flows.ingest.fms.load) is left out."""
    named = {
        _staged_name(plan, h): kept_sql(h)
        for h in _kept_headers(plan)
        if _staged_name(plan, h) not in _NOT_CONTENT
    }
    named |= {f"extra:{h}": extra_sql(h) for h in plan.extras}
    parts = [f"{quote_literal(name)}, {named[name]}" for name in sorted(named)]
    return f"hash({', '.join(parts)})" if parts else "hash(NULL)"


def _stage_rows(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    header: list[str],
    rows: list[tuple[int, list[str | None]]],
    rows_read: int,
    malformed: list[MalformedRow] | None = None,
) -> StagedFile:
    plan = plan_for(form, header)
    wanted = _kept_headers(plan)
    positions = {h: header.index(h) for h in (*wanted, *plan.extras)}
    malformed = list(malformed or [])
    good: list[tuple[int, list[str | None]]] = []
    for number, row in rows:
        if len(row) != len(header):
            malformed.append(
                MalformedRow(number, f"row has {len(row)} fields, the header has {len(header)}")
            )
            continue
        good.append((number, row))
    frame = pd.DataFrame(
        {
            "source_row": pd.Series([n for n, _ in good], dtype="int64"),
            **{
                _staged_name(plan, h): pd.Series(
                    [_blank_to_none(r[positions[h]]) for _, r in good], dtype="object"
                )
                for h in wanted
            },
            **{
                f"extra:{h}": pd.Series(
                    [_blank_to_none(r[positions[h]]) for _, r in good], dtype="object"
                )
                for h in plan.extras
            },
        }
    )
    del good
    connection.register("fms_frame", frame)
    try:
        kept_columns = ", ".join(
            f"CAST({quote_identifier(_staged_name(plan, h))} AS VARCHAR) AS "
            f"{quote_identifier(_staged_name(plan, h))}"
            for h in wanted
        )
        extras = _extras_json(
            {h: f"CAST({quote_identifier('extra:' + h)} AS VARCHAR)" for h in plan.extras}
        )
        delivered = _delivered_hash(
            plan,
            lambda h: f"CAST({quote_identifier(_staged_name(plan, h))} AS VARCHAR)",
            lambda h: f"CAST({quote_identifier('extra:' + h)} AS VARCHAR)",
        )
        connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE fms_file_rows AS
            SELECT source_row, {kept_columns}, {extras} AS extra_columns,
                   {delivered} AS delivered_hash
            FROM fms_frame
            """
        )
    finally:
        connection.unregister("fms_frame")
    view = _create_staged_view(connection, form, plan, source_row="source_row")
    return StagedFile(rows_read=rows_read, plan=plan, view=view, malformed=malformed)


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    return value if value.strip() != "" else None


def trimmed_or_null(value: str) -> str:
    """SQL for `nullif(trim(value), '')`, the delivered text as a raw value.

    trim() copies every string, and nearly every cell has nothing to trim: the copy is
    made only for a cell that starts or ends with a space. DuckDB's trim strips the
    Unicode space separators (Zs); the only ASCII one is ' ', so a cell that is all ASCII
    needs no regular expression to tell.
    """
    not_ascii = f"strlen({value}) <> length({value})"
    space_at_an_end = f"regexp_matches({value}, '^\\p{{Zs}}|\\p{{Zs}}$')"
    may_need_trim = (
        f"starts_with({value}, ' ') OR ends_with({value}, ' ') "
        f"OR ({not_ascii} AND {space_at_an_end})"
    )
    return (
        f"CASE WHEN {value} = '' THEN NULL "
        f"WHEN {may_need_trim} THEN nullif(trim({value}), '') ELSE {value} END"
    )


def _create_staged_view(
    connection: duckdb.DuckDBPyConnection, form: Form, plan: ColumnPlan, source_row: str
) -> StagedView:
    view = staged_view(form, plan, source_row)
    connection.execute(view.sql)
    return view


def staged_view(
    form: Form, plan: ColumnPlan, source_row: str, with_stand_ins: bool = False
) -> StagedView:
    """Give every raw column a place, NULL when this file did not have it."""
    present = {_staged_name(plan, h) for h in _kept_headers(plan)}
    columns = []
    for name in (*raw_system_columns(), *raw_form_columns(form)):
        if name in present:
            columns.append(f"{trimmed_or_null(quote_identifier(name))} AS {quote_identifier(name)}")
        else:
            columns.append(f"CAST(NULL AS VARCHAR) AS {quote_identifier(name)}")
    for name in sorted(present - set(raw_system_columns()) - set(raw_form_columns(form))):
        columns.append(quote_identifier(name))
    columns += ["extra_columns", "delivered_hash"]
    return StagedView(", ".join(columns), source_row, with_stand_ins)
