"""Reading CSV text row by row in Python, with every physical line accounted for.

Python's csv module (used for the small delivered tables, and for an export DuckDB's reader
refused) is lenient: a quote that is never closed makes one field of every line after it,
silently, and a cell larger than its field limit stops the whole read. Here each row knows
the lines it spans, so a quote left open at the end of the file fails the file, a row that
an open quote joined to the next lines is quarantined and counted as the rows it swallowed,
and a cell over FMW_MAX_CELL_KB quarantines its row instead of stopping the file.

Whether a quote joined rows is plain when the joined row has the wrong number of fields.
When it has the right number (the quote closed at the same column some rows below), the
sign is a cell that runs over several lines and holds a line with as many separators as a
row would have: free text with line breaks does not look like that.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from flows.ingest.exceptions import UnreadableFile


@dataclass(frozen=True)
class CsvRow:
    number: int  # 1 = the first data row
    fields: list[str]
    first_line: int  # physical lines of the file, 1 = the header
    last_line: int
    oversized: str | None = None  # why a cell is too large, when one is
    joined: bool = False  # a cell holds lines that look like whole rows

    @property
    def lines(self) -> int:
        return self.last_line - self.first_line + 1

    def problem(self, header_length: int) -> str | None:
        """Why this row cannot be loaded as a row of the file, or None."""
        if self.oversized is not None:
            return self.oversized
        if self.joined:
            return (
                f"a cell runs over lines {self.first_line}-{self.last_line} and holds what look"
                f" like whole rows, joined by a quote left open: counted as {self.lines} rows"
            )
        if len(self.fields) == header_length:
            return None
        reason = f"row has {len(self.fields)} fields, the header has {header_length}"
        if self.lines > 1:
            reason += (
                f"; it runs over lines {self.first_line}-{self.last_line}, joined by a quote"
                f" left open: counted as {self.lines} rows"
            )
        return reason

    def rows_counted(self, header_length: int) -> int:
        """How many delivered rows this parsed row stands for (see `problem`)."""
        broken = self.oversized is None and len(self.fields) != header_length
        return self.lines if broken or self.joined else 1


def check_unique_header(header: list[str]) -> None:
    repeated = sorted(name for name, n in Counter(header).items() if n > 1 and name)
    if repeated:
        raise UnreadableFile(
            f"column(s) {', '.join(repr(r) for r in repeated)} appear more than once in the "
            "header: which one holds the value cannot be told"
        )


def _oversized(fields: list[str], header: list[str], max_cell_bytes: int) -> str | None:
    for position, value in enumerate(fields):
        # A character is at most 4 bytes: most cells need no encoding to be measured.
        if len(value) * 4 > max_cell_bytes and len(value.encode("utf-8")) > max_cell_bytes:
            column = header[position] if position < len(header) else f"#{position + 1}"
            return (
                f"cell of column {column!r} is {len(value.encode('utf-8')):,} bytes, more "
                f"than the {max_cell_bytes:,} FMW_MAX_CELL_KB allows"
            )
    return None


def _holds_rows(fields: list[str], header_length: int, delimiter: str) -> bool:
    """Whether a cell holds a line with the separators of half a row or more."""
    separators = max(2, (header_length - 1) // 2)
    return any(
        line.count(delimiter) >= separators
        for value in fields
        if "\n" in value or "\r" in value
        for line in value.splitlines()
    )


def _tail_from_line(text: str, line: int) -> str:
    """The text from the start of physical line `line` (1-based) to the end."""
    offset = 0
    for number, physical in enumerate(io.StringIO(text, newline=""), start=1):
        if number == line:
            break
        offset += len(physical)
    return text[offset:]


def _check_last_quote_closed(text: str, last: CsvRow, delimiter: str) -> None:
    tail = _tail_from_line(text, last.first_line)
    if '"' not in tail:
        return
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            raise UnreadableFile(
                f"a quote opened in row {last.number} (line {last.first_line}) is never "
                f"closed: its {last.lines} line(s) to the end of the file cannot be told apart "
                "as rows; "
                "close the quote and deliver the file again"
            ) from error


def read_csv_text(text: str, delimiter: str, max_cell_bytes: int) -> tuple[list[str], list[CsvRow]]:
    """(header, rows); UnreadableFile when the file has no header or cannot be parsed."""
    # The text is in memory already: a long field costs nothing more, and is judged below.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        raise UnreadableFile("empty file: no header row")
    check_unique_header(header)
    rows: list[CsvRow] = []
    previous_line = reader.line_num
    number = 0
    try:
        for fields in reader:
            if not fields:  # a blank line holds no row
                previous_line = reader.line_num
                continue
            number += 1
            oversized = _oversized(fields, header, max_cell_bytes)
            spans = reader.line_num > previous_line + 1
            rows.append(
                CsvRow(
                    number,
                    [] if oversized else fields,
                    previous_line + 1,
                    reader.line_num,
                    oversized,
                    joined=spans
                    and oversized is None
                    and len(fields) == len(header)
                    and _holds_rows(fields, len(header), delimiter),
                )
            )
            previous_line = reader.line_num
    except csv.Error as error:
        raise UnreadableFile(
            f"CSV cannot be parsed at row {number + 1} (line {reader.line_num}): {error}"
        ) from error
    if rows:
        _check_last_quote_closed(text, rows[-1], delimiter)
    return header, rows
