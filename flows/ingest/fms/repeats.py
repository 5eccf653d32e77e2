"""Stage a cumulative export without parsing the rows it repeats from an earlier export.

KoboToolbox exports every submission each time, in submission order: tonight's export in
yesterday's layout starts with yesterday's export, byte for byte, and adds the new
submissions at its end. For the last export read in each layout (its header line, bytes
and all) the refresh remembers the sha256 of its first bytes at every 4 MiB block's end
with the line breaks up to there, and, per data row, the row's `_uuid` and delivered hash
as DuckDB staged them (ExportMemory, a cache in the internal data directory). Blocks that
repeat the remembered export are hashed but not searched for line breaks again.

A new export whose leading blocks are those of the remembered export repeats its rows up
to the last line break inside them. Only the rest (the tail) is parsed, and of the repeated
rows only those the load could not set aside as held exactly as delivered: rows it
quarantined, rows whose held version changed since, rows that now conflict. Every other
repeated row stands in the staged table by its `_uuid` and delivered hash alone, which is
all the load reads of a row it sets aside (flows.ingest.fms.load). So the load sees the
rows it would see if it parsed the whole file, numbered as in the file.

This holds only where each line is one row: the remembered export and this one have no
line break inside a cell, no blank line, no lone carriage return
(FileDigest.one_row_per_line); then a line of the same bytes under the same header is read
to the same row (CsvReading.recipe). Anything else, or a tail DuckDB cannot read, stages
the whole file as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.form.xlsform import Form
from flows.ingest.fms.digest import FileDigest, KnownExport
from flows.ingest.fms.load import rows_not_held_as_delivered_sql
from flows.ingest.fms.read import (
    STAND_IN_TABLE,
    CsvReading,
    StagedFile,
    csv_header,
    duckdb_can_open,
    plan_for,
    staged_view,
    trimmed_or_null,
)
from flows.sql import quote_literal

_LOG = logging.getLogger(__name__)

# Layouts remembered at once: an office that alternates two export settings keeps both.
KEPT_LAYOUTS = 2
# Past this share of repeated rows to parse again, reading the whole file is as cheap.
_MOST_REPEATS_TO_PARSE = 0.5
_HEADER_LOOKAHEAD = 1 << 20
# A record asking for larger blocks is not one this code wrote (digest_file reads a block at once).
_MOST_BLOCK_BYTES = 64 << 20


@dataclass(frozen=True)
class RememberedExport:
    known: KnownExport
    csv_recipe: str
    rows: int
    rows_file: Path  # Parquet: file_row, _uuid (as delivered or trimmed), delivered_hash


def header_line_of(path: Path) -> bytes | None:
    with path.open("rb") as handle:
        head = handle.read(_HEADER_LOOKAHEAD)
    end = head.find(b"\n")
    return head[: end + 1] if end >= 0 else None


@dataclass(frozen=True)
class ExportMemory:
    """The exports last read in each layout, remembered in a private folder of the internal
    data directory: per layout, a JSON record and a Parquet file of its rows.

    It is a cache of what an export's bytes stage to, not part of the warehouse: it holds
    for those bytes whatever became of their load, so it is written outside the load's
    transaction, each file under a new name and then renamed into place."""

    folder: Path

    def recall(self, header_line: bytes | None) -> RememberedExport | None:
        if header_line is None:
            return None
        found = _read_record(self._record(_layout_of(header_line)))
        try:
            known = KnownExport(
                found["size"],
                found["block_bytes"],
                tuple(found["block_hashes"]),
                tuple(found["line_breaks_through_block"]),
            )
            remembered = RememberedExport(
                known, found["csv_recipe"], found["rows"], self.folder / found["rows_file"]
            )
        except (KeyError, TypeError, ValueError):
            return None
        if not 0 < known.block_bytes <= _MOST_BLOCK_BYTES:
            return None
        blocks = -(-known.size // known.block_bytes)
        if not len(known.block_hashes) == len(known.line_breaks_through_block) == blocks:
            return None
        if not _counts_through_blocks(known.line_breaks_through_block, known.size):
            return None
        return remembered if remembered.rows_file.is_file() else None

    def remember(
        self,
        connection: duckdb.DuckDBPyConnection,
        file_name: str,
        digest: FileDigest,
        staged: StagedFile,
    ) -> None:
        """Remember this export for the next one in its layout; run it before the load drops
        the staged rows."""
        reading = staged.csv_reading
        if (
            reading is None
            or staged.malformed
            or digest.header_line is None
            or not digest.one_row_per_line(staged.rows_read)
        ):
            return
        try:
            self._remember(connection, file_name, digest, reading, staged)
        except (OSError, duckdb.Error) as error:
            _LOG.warning("%s: not remembered for the next export: %s", file_name, error)
            self.forget(digest.header_line)

    def _remember(
        self,
        connection: duckdb.DuckDBPyConnection,
        file_name: str,
        digest: FileDigest,
        reading: CsvReading,
        staged: StagedFile,
    ) -> None:
        assert digest.header_line is not None
        layout = _layout_of(digest.header_line)
        self._private_folder()
        rows_file = self.folder / f"{layout[:16]}-{digest.sha256[:16]}.parquet"
        writing = rows_file.with_name(f".{rows_file.name}.writing")
        connection.execute(
            f"COPY ({staged.row_keys}) "
            f"TO {quote_literal(str(writing))} (FORMAT parquet, COMPRESSION zstd)"
        )
        _into_place(writing, rows_file)
        record = {
            "file_name": file_name,
            "csv_recipe": reading.recipe,
            "size": digest.size,
            "block_bytes": digest.block_bytes,
            "block_hashes": list(digest.block_hashes),
            "line_breaks_through_block": list(digest.line_breaks_through_block),
            "rows": staged.rows_read,
            "rows_file": rows_file.name,
        }
        _write_then_rename(self._record(layout), json.dumps(record))
        self._forget_all_but_the_latest_layouts()

    def forget(self, header_line: bytes | None = None) -> None:
        """Forget the export of one layout, or every export (a full refresh reads every
        file again)."""
        if header_line is None:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            self._record(_layout_of(header_line)).unlink(missing_ok=True)

    def remove_copies(self) -> None:
        """Remove the copies of delivered lines that a killed run left behind (ingest does
        this before any file)."""
        for stale in self.folder.glob(f"{COPIES_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)

    def copies(self) -> tempfile.TemporaryDirectory[str]:
        """A folder for the lines to parse, copied as delivered (direct identifiers
        included), in the private folder: it lives only while the export is staged."""
        self._private_folder()
        return tempfile.TemporaryDirectory(prefix=COPIES_PREFIX, dir=self.folder)

    def _private_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)

    def _record(self, layout: str) -> Path:
        return self.folder / f"{layout}.json"

    def _forget_all_but_the_latest_layouts(self) -> None:
        records = sorted(
            self.folder.glob("*.json"), key=lambda r: r.stat().st_mtime_ns, reverse=True
        )
        for stale in records[KEPT_LAYOUTS:]:
            stale.unlink(missing_ok=True)
        kept = {_read_record(record).get("rows_file") for record in records[:KEPT_LAYOUTS]}
        for rows_file in self.folder.glob("*.parquet"):
            if rows_file.name not in kept:
                rows_file.unlink(missing_ok=True)


COPIES_PREFIX = "copies-"


def _layout_of(header_line: bytes) -> str:
    return hashlib.sha256(header_line).hexdigest()


def _counts_through_blocks(counts: tuple[object, ...], size: int) -> bool:
    """Whether a record's line breaks through each block can be a file's: whole numbers
    that never go down, no more than the file's bytes."""
    if not all(type(count) is int and count >= 0 for count in counts):
        return False
    numbers = cast(tuple[int, ...], counts)
    ordered = all(a <= b for a, b in zip(numbers, numbers[1:], strict=False))
    return ordered and (not numbers or numbers[-1] <= size)


def _read_record(record: Path) -> dict[str, Any]:
    """A layout's JSON record; empty when it is missing or unreadable."""
    try:
        found = json.loads(record.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write_then_rename(target: Path, text: str) -> None:
    writing = target.with_name(f".{target.name}.writing")
    writing.write_text(text, encoding="utf-8")
    _into_place(writing, target)


def _into_place(writing: Path, target: Path) -> None:
    """On disk before it is renamed into place: a crash leaves the old file or the new."""
    with writing.open("rb+") as handle:
        os.fsync(handle.fileno())
    writing.replace(target)


# --- staging ---------------------------------------------------------------------------


def stage_repeating_export(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    path: Path,
    digest: FileDigest,
    memory: ExportMemory,
    remembered: RememberedExport,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> StagedFile | None:
    """Stage `path` as `stage_file` would, parsing only what the remembered export does not
    vouch for; None when that cannot be done (the caller stages the whole file)."""
    if digest.header_line is None or digest.lone_carriage_returns:
        return None
    return _stage_repeats(
        connection, form, path, digest, memory, remembered, limits, digest.lines()
    )


@dataclass(frozen=True)
class PresumedRepeat:
    """An export staged while it was hashed, on the presumption that it starts with the
    whole remembered export (a cumulative export in the same layout does). `presumed` is
    what the file's digest must then say, as far as staging read it."""

    staged: StagedFile
    presumed: FileDigest

    def confirmed_by(self, digest: FileDigest) -> StagedFile | None:
        """The staged file, when the file's digest bears the presumption out: staged with
        it, `stage_repeating_export` would have given the same rows. None otherwise."""
        presumed = self.presumed
        holds = (
            digest.header_line == presumed.header_line
            and digest.lone_carriage_returns == 0
            and digest.size == presumed.size
            and digest.bytes_as_known == presumed.bytes_as_known
            and digest.lines() == self.staged.rows_read + 1
        )
        return self.staged if holds else None


def stage_presuming_a_whole_repeat(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    path: Path,
    memory: ExportMemory,
    remembered: RememberedExport,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> PresumedRepeat | None:
    """Stage `path` before its digest is known, as `stage_repeating_export` would if the
    digest found the whole remembered export at its start. Staging reads of the digest only
    the header line, the file's size, how far it repeats, and line breaks within the
    repeated part: all of them the remembered export tells, but for the size. Whether the
    file really repeats it is known once hashed: `PresumedRepeat.confirmed_by`."""
    known = remembered.known
    size = path.stat().st_size
    if size < known.size:
        return None
    presumed = FileDigest(
        sha256="",  # unknown until hashed; staging does not read it
        size=size,
        block_bytes=known.block_bytes,
        block_hashes=known.block_hashes,
        header_line=header_line_of(path),
        line_breaks_through_block=known.line_breaks_through_block,
        lone_carriage_returns=0,
        ends_with_line_break=True,
        bytes_as_known=known.size,
    )
    if presumed.header_line is None:
        return None
    staged = _stage_repeats(connection, form, path, presumed, memory, remembered, limits, None)
    return PresumedRepeat(staged, presumed) if staged is not None else None


def _stage_repeats(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    path: Path,
    digest: FileDigest,
    memory: ExportMemory,
    remembered: RememberedExport,
    limits: IngestLimits,
    lines: int | None,
) -> StagedFile | None:
    """`lines`: the file's lines, when known (None: the caller checks them afterwards)."""
    assert digest.header_line is not None
    if not duckdb_can_open(path):
        return None  # stage_file reads it in Python: so must this
    header, delimiter = csv_header(path)
    reading = CsvReading(header, delimiter, plan_for(form, header), limits.max_cell_bytes)
    if reading.recipe != remembered.csv_recipe:
        return None
    staged = None
    try:
        with memory.copies() as folder:
            staged = _stage_in(
                connection, form, path, digest, remembered, reading, Path(folder), lines
            )
    except (OSError, duckdb.Error) as error:
        # A damaged cache file, a full disk: the memory is only a shortcut.
        _LOG.warning(
            "%s: staged whole, the remembered export could not be used: %s", path.name, error
        )
        memory.forget(digest.header_line)
    finally:
        for table in _HELPER_TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
    if staged is None:
        connection.execute(f"DROP TABLE IF EXISTS {STAND_IN_TABLE}")
    else:
        connection.execute(staged.view.sql)
    return staged


_HELPER_TABLES = (
    "fms_tail_rows",
    "fms_repeated_rows",
    "fms_repeated_keys",
    "fms_again_numbers",
    "fms_again_rows",
)


def _stage_in(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    path: Path,
    digest: FileDigest,
    remembered: RememberedExport,
    reading: CsvReading,
    folder: Path,
    lines: int | None,
) -> StagedFile | None:
    assert digest.header_line is not None
    repeated_end = _last_line_end(path, digest.bytes_as_known)
    repeated_rows = _line_breaks_before(path, digest, repeated_end) - 1
    if repeated_rows < 1 or repeated_rows > remembered.rows:
        return None
    tail = folder / "tail.csv"
    _write_lines(tail, digest.header_line, path, [(repeated_end, digest.size)])
    if not _read_into(connection, "fms_tail_rows", reading, tail):
        return None
    tail_rows = _count(connection, "fms_tail_rows")
    if lines is not None and repeated_rows + tail_rows + 1 != lines:
        return None  # a cell of the tail holds a line break: read the file whole
    staged = StagedFile(
        rows_read=repeated_rows + tail_rows,
        plan=reading.plan,
        view=staged_view(form, reading.plan, source_row="file_row", with_stand_ins=True),
        csv_reading=reading,
    )
    to_parse = _repeated_rows_to_parse(connection, form, staged, remembered, repeated_rows)
    if len(to_parse) > _MOST_REPEATS_TO_PARSE * repeated_rows:
        return None
    again = folder / "again.csv"
    _write_lines(again, digest.header_line, path, _line_spans(path, digest, to_parse))
    if not _read_into(connection, "fms_again_rows", reading, again):
        return None
    if _count(connection, "fms_again_rows") != len(to_parse):
        return None
    _assemble_file_rows(connection, repeated_rows)
    return staged


def _read_into(
    connection: duckdb.DuckDBPyConnection, table: str, reading: CsvReading, path: Path
) -> bool:
    try:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {reading.select_from(path)}")
    except duckdb.Error:
        return False
    return True


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _repeated_rows_to_parse(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    staged: StagedFile,
    remembered: RememberedExport,
    repeated_rows: int,
) -> list[int]:
    """The repeated rows the load could not set aside unparsed: no `_uuid`, a `_uuid`
    delivered in more than one version in this file, or not held as delivered."""
    connection.execute(
        """
        CREATE OR REPLACE TEMP TABLE fms_repeated_rows AS
        SELECT file_row, _uuid, delivered_hash FROM read_parquet(?)
        WHERE file_row <= ?
        """,
        [str(remembered.rows_file), repeated_rows],
    )
    rows, distinct = connection.execute(
        "SELECT count(*), count(DISTINCT file_row) FROM fms_repeated_rows"
    ).fetchone()
    if rows != repeated_rows or distinct != repeated_rows:
        raise OSError(f"{remembered.rows_file.name} does not hold rows 1 to {repeated_rows}")
    uuid = trimmed_or_null("_uuid")
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fms_repeated_keys AS
        SELECT file_row, {uuid} AS _uuid, delivered_hash FROM fms_repeated_rows
        """
    )
    not_held = rows_not_held_as_delivered_sql(form, staged, "fms_repeated_keys")
    # Two selects joined by UNION rather than one WHERE with OR: DuckDB then runs the
    # deliveries lookup as an anti join, not a mark join (2x faster at 5 M rows).
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fms_again_numbers AS
        WITH every_row AS (
            SELECT _uuid, delivered_hash FROM fms_repeated_keys
            UNION ALL
            SELECT {uuid}, delivered_hash FROM fms_tail_rows
        ),
        conflicting AS (
            SELECT _uuid FROM every_row WHERE _uuid IS NOT NULL
            GROUP BY _uuid HAVING min(delivered_hash) <> max(delivered_hash)
        )
        SELECT file_row FROM fms_repeated_keys
        WHERE _uuid IS NULL OR _uuid IN (SELECT _uuid FROM conflicting)
        UNION
        SELECT file_row FROM ({not_held})
        ORDER BY file_row
        """
    )
    rows = connection.execute("SELECT file_row FROM fms_again_numbers ORDER BY file_row")
    return [row for (row,) in rows.fetchall()]


def _assemble_file_rows(connection: duckdb.DuckDBPyConnection, repeated_rows: int) -> None:
    """The staged rows, each with its number in the file (`file_row`): in `fms_file_rows`
    the repeated rows parsed again and the tail; in STAND_IN_TABLE the other repeated rows,
    which hold only what the load reads of a row it sets aside."""
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fms_file_rows AS
        SELECT again.* EXCLUDE (position), numbers.file_row
        FROM (SELECT *, rowid AS position FROM fms_again_rows) AS again
        JOIN (SELECT rowid AS position, file_row FROM fms_again_numbers) AS numbers
          USING (position)
        UNION ALL BY NAME
        SELECT *, CAST({repeated_rows} + rowid + 1 AS INTEGER) AS file_row FROM fms_tail_rows
        """
    )
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {STAND_IN_TABLE} AS
        SELECT _uuid, delivered_hash, file_row FROM fms_repeated_rows
        WHERE file_row NOT IN (SELECT file_row FROM fms_again_numbers)
        """
    )


# --- bytes -----------------------------------------------------------------------------


def _last_line_end(path: Path, end: int) -> int:
    """The offset just after the last line break before `end` (0 if there is none)."""
    step = 1 << 20
    with path.open("rb") as handle:
        stop = end
        while stop > 0:
            start = max(0, stop - step)
            handle.seek(start)
            found = handle.read(stop - start).rfind(b"\n")
            if found >= 0:
                return start + found + 1
            stop = start
    return 0


def _line_breaks_before(path: Path, digest: FileDigest, end: int) -> int:
    """Line breaks in the file's first `end` bytes: the digest counted them block by block."""
    block = end // digest.block_bytes
    counted = digest.line_breaks_through_block[block - 1] if block else 0
    with path.open("rb") as handle:
        handle.seek(block * digest.block_bytes)
        return counted + handle.read(end - block * digest.block_bytes).count(b"\n")


def _line_spans(path: Path, digest: FileDigest, rows: list[int]) -> list[tuple[int, int]]:
    """The byte span of each data row in `rows` (ascending; row n is the line after line
    break n - 1, counting the header's as 0). Only the blocks that hold them are read."""
    with path.open("rb") as handle:
        breaks = _LineBreaks(handle, digest)
        return [(breaks.after(row - 1), breaks.after(row)) for row in rows]


class _LineBreaks:
    """Finds the file's line breaks by their index, reading the block that holds one (the
    digest counted them per block), the last block read kept."""

    def __init__(self, handle: Any, digest: FileDigest) -> None:
        self.handle = handle
        self.block_bytes = digest.block_bytes
        self.through = np.asarray(digest.line_breaks_through_block, dtype=np.int64)
        self.block = -1
        self.offsets = np.empty(0, dtype=np.int64)

    def after(self, index: int) -> int:
        """The offset just after line break `index` (0-based)."""
        block = int(np.searchsorted(self.through, index, side="right"))
        if block != self.block:
            self.handle.seek(block * self.block_bytes)
            data = np.frombuffer(self.handle.read(self.block_bytes), dtype=np.uint8)
            self.block, self.offsets = block, np.flatnonzero(data == 10)
        before = int(self.through[block - 1]) if block else 0
        return block * self.block_bytes + int(self.offsets[index - before]) + 1


def _write_lines(
    target: Path, header_line: bytes, source: Path, spans: list[tuple[int, int]]
) -> None:
    with source.open("rb") as reading, target.open("wb") as writing:
        writing.write(header_line)
        for start, end in spans:
            reading.seek(start)
            left = end - start
            while left > 0 and (block := reading.read(min(left, 1 << 24))):
                writing.write(block)
                left -= len(block)
