"""A file's digest: its sha256, how far it repeats a known export, how its lines end."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from flows.ingest.fms import digest as digest_module
from flows.ingest.fms.digest import KnownExport, digest_file


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest_module, "BLOCK_BYTES", 8)


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _known(path: Path) -> KnownExport:
    digest = digest_file(path)
    return KnownExport(
        digest.size, digest.block_bytes, digest.block_hashes, digest.line_breaks_through_block
    )


def test_the_digest_holds_the_files_sha256_and_its_header_line(tmp_path: Path) -> None:
    data = b"a;b\r\n1;2\r\n3;4\r\n"
    digest = digest_file(_file(tmp_path, "x.csv", data))

    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.size == len(data)
    assert digest.header_line == b"a;b\r\n"
    assert digest.lines() == 3
    assert digest.lone_carriage_returns == 0


def test_a_file_that_adds_rows_after_a_known_export_repeats_all_of_its_bytes(
    tmp_path: Path,
) -> None:
    old = b"a;b\r\n1;2\r\n3;4\r\n55;6\r\n"  # 21 bytes: two whole blocks and a partial one
    new = old + b"7;8\r\n"

    digest = digest_file(_file(tmp_path, "new.csv", new), _known(_file(tmp_path, "old.csv", old)))

    assert digest.bytes_as_known == len(old)


def test_a_changed_byte_ends_the_repeat_at_the_last_whole_block_before_it(tmp_path: Path) -> None:
    old = b"a;b\r\n1;2\r\n3;4\r\n55;6\r\n"
    new = old[:13] + b"X" + old[14:] + b"7;8\r\n"

    digest = digest_file(_file(tmp_path, "new.csv", new), _known(_file(tmp_path, "old.csv", old)))

    assert digest.bytes_as_known == 8


def test_a_file_shorter_than_the_known_export_repeats_only_its_whole_blocks(
    tmp_path: Path,
) -> None:
    old = b"a;b\r\n1;2\r\n3;4\r\n55;6\r\n"

    digest = digest_file(
        _file(tmp_path, "new.csv", old[:12]), _known(_file(tmp_path, "old.csv", old))
    )

    assert digest.bytes_as_known == 8


def test_a_different_file_repeats_nothing(tmp_path: Path) -> None:
    digest = digest_file(
        _file(tmp_path, "new.csv", b"x;y\r\n1;2\r\n"),
        _known(_file(tmp_path, "old.csv", b"a;b\r\n1;2\r\n")),
    )

    assert digest.bytes_as_known == 0


@pytest.mark.parametrize(
    ("data", "lone"),
    [
        (b"a\r\nb\r\n", 0),
        (b"a\nb\n", 0),
        (b"a\rb\n", 1),
        (b"abcdefg\r\nh\r\n", 0),  # a line break split across blocks
        (b"abcdefg\rh\n", 1),
        (b"a\nb\r", 1),
    ],
)
def test_carriage_returns_without_a_line_break_after_them_are_counted(
    tmp_path: Path, data: bytes, lone: int
) -> None:
    assert digest_file(_file(tmp_path, "x.csv", data)).lone_carriage_returns == lone


def test_one_row_per_line_needs_as_many_lines_as_rows_and_a_header(tmp_path: Path) -> None:
    ends_without_break = digest_file(_file(tmp_path, "x.csv", b"a\r\n1\r\n2"))

    assert ends_without_break.one_row_per_line(2)
    assert not ends_without_break.one_row_per_line(1)  # a cell held a line break


def test_a_known_export_of_whole_blocks_is_repeated_to_its_last_byte(tmp_path: Path) -> None:
    old = b"a;b\r\n1;2\r\n3;4\r\n"  # 15 bytes
    old = old + b"\n"  # two whole blocks of 8

    digest = digest_file(
        _file(tmp_path, "new.csv", old + b"7;8\r\n"), _known(_file(tmp_path, "old.csv", old))
    )

    assert digest.bytes_as_known == 16


def test_line_breaks_are_counted_up_to_each_blocks_end(tmp_path: Path) -> None:
    digest = digest_file(_file(tmp_path, "x.csv", b"a\nbb\nccc\ndddd\n"))  # 14 bytes

    assert digest.line_breaks_through_block == (2, 4)


@pytest.mark.parametrize(
    "old, added",
    [
        (b"a;b\r\n1;2\r\n3;4\r\n55;6\r\n", b"7;8\r\n"),  # ends inside a block
        (b"a;b\r\n1;2\r\n3;4\r\n5", b";6\r\n7;8\r\n"),  # ends on a block's end
        (b"a;b\n1;2\n3;4\n5;6\n", b"7;8\n9;10\n"),  # line feeds only
        (b"a;b\r\n1;2\r\n3;4;5\r", b"x\r\n"),  # a block ends in a lone carriage return
    ],
)
def test_a_repeated_known_export_counts_its_lines_as_reading_every_byte_does(
    tmp_path: Path, old: bytes, added: bytes
) -> None:
    known = _known(_file(tmp_path, "old.csv", old))
    new = _file(tmp_path, "new.csv", old + added)

    with_known, without = digest_file(new, known), digest_file(new)

    assert with_known.bytes_as_known == len(old)
    assert with_known.line_breaks_through_block == without.line_breaks_through_block
    assert with_known.lone_carriage_returns == without.lone_carriage_returns
    assert with_known.ends_with_line_break == without.ends_with_line_break


def test_the_line_breaks_of_known_blocks_are_taken_from_the_known_export(tmp_path: Path) -> None:
    # the known blocks are not read for line breaks again: that is the saving
    old = b"a;b\r\n1;2\r\n3;4\r\n55;6\r\n"
    known = _known(_file(tmp_path, "old.csv", old))
    remembered = replace(known, line_breaks_through_block=(10, 20, 30))

    digest = digest_file(_file(tmp_path, "new.csv", old + b"7;8\r\n"), remembered)

    assert digest.line_breaks_through_block[:2] == (10, 20)


@pytest.mark.parametrize(
    "old, new",
    [
        (b"a;b\r\n1;2\r\n3;4\r\n", b"a;b\r\n1;2\r\n3;4\r\n"),  # the same file
        (b"a;b\r\n1;2\r\n3;4\r\n55;6\r\n", b"a;b\r\n1;2\r\n3;"),  # a shorter one
        (b"a;b\r\n1;2\r\n3;4\r\n55;6\r\n", b"a;b\r\n1;2\r\nX;4\r\n55;6\r\n7\r\n"),  # changed
        (b"a;b\r\n12\r\n3;4\r\n", b"a;b\r\n12\r\n3;5\r\n"),  # a known block ends in \r
    ],
)
def test_a_file_that_repeats_a_known_export_in_part_counts_its_lines_as_reading_every_byte_does(
    tmp_path: Path, old: bytes, new: bytes
) -> None:
    known = _known(_file(tmp_path, "old.csv", old))
    path = _file(tmp_path, "new.csv", new)

    with_known, without = digest_file(path, known), digest_file(path)

    assert with_known.line_breaks_through_block == without.line_breaks_through_block
    assert with_known.lone_carriage_returns == without.lone_carriage_returns
    assert with_known.ends_with_line_break == without.ends_with_line_break
