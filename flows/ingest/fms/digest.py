"""One pass over an export's bytes: its sha256, the sha256 of its first bytes at every
block's end, and how its lines end.

The digests of its first bytes let the next export be compared with this one without this
one's bytes (flows.ingest.fms.repeats): a cumulative export starts with the export before
it. They are the file's own sha256 read along the way, so they cost next to nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class KnownExport:
    """An export read before, as remembered: its size and, for each block, the sha256 of
    its bytes up to that block's end and how many line breaks they hold. Only an export
    without a lone carriage return is remembered."""

    size: int
    block_bytes: int
    block_hashes: tuple[str, ...]
    line_breaks_through_block: tuple[int, ...]

    def block_end(self, index: int) -> int:
        return min((index + 1) * self.block_bytes, self.size)


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    size: int
    block_bytes: int
    block_hashes: tuple[str, ...]
    header_line: bytes | None  # the first line, its line break included; None if none ends
    line_breaks_through_block: tuple[int, ...]  # b"\n" up to each block's end
    lone_carriage_returns: int  # b"\r" not followed by b"\n"
    ends_with_line_break: bool
    # How many leading bytes are those of the known export it was compared with.
    bytes_as_known: int = 0

    @property
    def line_breaks(self) -> int:
        return self.line_breaks_through_block[-1] if self.line_breaks_through_block else 0

    def lines(self) -> int:
        return self.line_breaks + (self.size > 0 and not self.ends_with_line_break)

    def one_row_per_line(self, rows_read: int) -> bool:
        """Whether each line after the header is one data row, as DuckDB read them: no
        cell holds a line break, no line is blank, no lone carriage return ends a row."""
        return self.lone_carriage_returns == 0 and self.lines() == rows_read + 1


def digest_file(path: Path, known: KnownExport | None = None) -> FileDigest:
    """Hash the file, and when `known` is given, find how many of its leading bytes are
    the known export's (whole known blocks, the known export's last block included)."""
    block_bytes = known.block_bytes if known is not None else BLOCK_BYTES
    whole = hashlib.sha256()
    prefixes: list[str] = []
    header_line: bytes | None = None
    lines = _LineEnds()
    comparison = _Comparison(known)
    size = 0
    through_block: list[int] = []
    with path.open("rb") as handle:
        while chunk := handle.read(block_bytes):
            if size == 0 and b"\n" in chunk:
                header_line = chunk[: chunk.index(b"\n") + 1]
            before = whole.copy()
            whole.update(chunk)
            prefixes.append(_digest_so_far(whole))
            known_block = comparison.see(before, size, chunk, prefixes[-1])
            size += len(chunk)
            if known_block is None:
                lines.see(chunk)
            else:  # the same bytes as the known export's: its line breaks are known
                lines.skip(chunk, known_block)
            through_block.append(lines.line_breaks)
    lines.close()
    return FileDigest(
        sha256=whole.hexdigest(),
        size=size,
        block_bytes=block_bytes,
        block_hashes=tuple(prefixes),
        header_line=header_line,
        line_breaks_through_block=tuple(through_block),
        lone_carriage_returns=lines.lone_carriage_returns,
        ends_with_line_break=lines.last_byte == 10,
        bytes_as_known=comparison.bytes_as_known,
    )


class _Comparison:
    """How far a file's first bytes are a known export's, block by block: the sha256 of
    the first bytes at each known block's end is compared."""

    def __init__(self, known: KnownExport | None) -> None:
        self.known = known
        self.bytes_as_known = 0
        self.going = known is not None

    def see(self, before: Any, offset: int, chunk: bytes, digest_after: str) -> int | None:
        """`before` has hashed the file's first `offset` bytes; the chunk follows them.
        When the chunk is exactly a block of the known export, and everything up to it
        is too, returns the known export's line breaks through it."""
        known = self.known
        if not self.going or known is None:
            return None
        index = offset // known.block_bytes
        if index >= len(known.block_hashes) or known.block_end(index) > offset + len(chunk):
            self.going = False  # this file ends inside the known block
            return None
        end = known.block_end(index)
        if end == offset + len(chunk):
            digest = digest_after
        else:  # the known export ends inside this chunk
            before.update(chunk[: end - offset])
            digest = _digest_so_far(before)
        same = digest == known.block_hashes[index]
        if same:
            self.bytes_as_known = end
        self.going = same and end < known.size
        whole_block = same and end == offset + len(chunk)
        return known.line_breaks_through_block[index] if whole_block else None


def _digest_so_far(running: Any) -> str:
    """The sha256 of everything `running` has seen: the hash of the file's first bytes."""
    return running.copy().hexdigest()


class _LineEnds:
    """Counts line breaks and carriage returns that no line break follows, block by block
    (numpy: Python's bytes.count is several times slower on gigabytes)."""

    def __init__(self) -> None:
        self.line_breaks = 0
        self.lone_carriage_returns = 0
        self.last_byte = -1

    def see(self, chunk: bytes) -> None:
        data = np.frombuffer(chunk, dtype=np.uint8)
        self.line_breaks += int(np.count_nonzero(data == 10))
        if self.last_byte == 13 and data[0] != 10:
            self.lone_carriage_returns += 1
        returns = np.flatnonzero(data[:-1] == 13)
        self.lone_carriage_returns += int(np.count_nonzero(data[returns + 1] != 10))
        self.last_byte = int(data[-1])

    def skip(self, chunk: bytes, line_breaks_through: int) -> None:
        """A chunk whose line breaks are known (through its end), and which holds no lone
        carriage return: nothing to count."""
        self.line_breaks = line_breaks_through
        self.last_byte = chunk[-1]

    def close(self) -> None:
        if self.last_byte == 13:
            self.lone_carriage_returns += 1
