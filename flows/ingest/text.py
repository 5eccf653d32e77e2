"""Decoding landing files: UTF-8, with or without a byte-order mark (as Kobo and Excel write)."""

from __future__ import annotations

from pathlib import Path

from flows.ingest.exceptions import UnreadableFile


def decode_text(data: bytes, cut_at_end: bool = False) -> str:
    """`data` as text; UnreadableFile naming the first byte that is not UTF-8.

    With `cut_at_end`, `data` is the head of a longer file: a multi-byte character cut by
    the end of the head is dropped, not an error.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if cut_at_end and error.start >= len(data) - 4:
            return data[: error.start].decode("utf-8-sig")
        raise UnreadableFile(f"not UTF-8 text (byte {error.start}: {error.reason})") from error


def read_text(path: Path) -> str:
    """The whole file as text (see decode_text)."""
    return decode_text(path.read_bytes())
