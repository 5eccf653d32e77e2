"""A corpus of hostile landing files, generated (nothing large is committed): what an
attacker or an unlucky export could drop into the landing zone, each with the verdict the
warehouse must give it.

`status` is the verdict in ops.file_loads; `reason` a fragment of its reason when the file
failed, or of a quarantine reason of its rows when it loaded; `counts` (rows read, loaded,
duplicate, quarantined) when they matter. Every case uses its own `_uuid`s, dates and
points, so the whole corpus can share one landing zone with a valid sample.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from flows.config import IngestLimits
from flows.warehouse.schema import FMR_COLUMNS
from tests.helpers.kobo_files import submission, write_csv, write_kobo_json, write_xlsx

# Small enough for the bombs and the oversized files to be written in a second.
TEST_LIMITS = IngestLimits(max_parsed_file_bytes=32 * 2**20)
TEN_MB = 10 * 2**20

Counts = tuple[int, int, int, int]


@dataclass(frozen=True)
class HostileCase:
    id: str
    source: str
    file_name: str
    write: Callable[[Path], None]
    status: str
    reason: str
    counts: Counts | None = None

    @property
    def recorded_name(self) -> str:
        """The name as ops.file_loads records it (bytes that are not UTF-8 escaped)."""
        return os.fsencode(self.file_name).decode("utf-8", "backslashreplace")


# --- FMS -------------------------------------------------------------------------------


def _rows(prefix: str, n: int, **answers: str) -> list[dict[str, str]]:
    return [submission(f"{prefix}-{i}", **answers) for i in range(1, n + 1)]


def _csv_text(rows: list[dict[str, str]], delimiter: str = ";") -> str:
    buffer = io.StringIO()
    write = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    header = list(rows[0])
    write.writerow(header)
    for row in rows:
        write.writerow([row.get(h, "") for h in header])
    return buffer.getvalue()


def _kobo_document(rows: list[dict[str, str]]) -> dict[str, object]:
    results = []
    for row in rows:
        record: dict[str, object] = {k: v for k, v in row.items() if v != ""}
        record["_validation_status"] = {"uid": row["_validation_status"]}
        results.append(record)
    return {"count": len(results), "next": None, "previous": None, "results": results}


def _write_json(document: object) -> Callable[[Path], None]:
    return lambda path: path.write_text(json.dumps(document), encoding="utf-8")


def _nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def _deep_kobo_json(path: Path) -> None:
    record = json.dumps(_kobo_document(_rows("deep10k", 1))["results"][0])
    text = record[:-1] + f', "notes": {_nested_json(10_000)}}}'
    path.write_text(
        f'{{"count": 1, "next": null, "previous": null, "results": [{text}]}}', encoding="utf-8"
    )


def _one_deep_value_json(path: Path) -> None:
    document = _kobo_document(_rows("deep100", 2))
    nested: object = "bottom"
    for _ in range(100):
        nested = [nested]
    document["results"][1]["notes"] = nested  # type: ignore[index]
    path.write_text(json.dumps(document), encoding="utf-8")


def _huge_cell_csv(path: Path) -> None:
    rows = _rows("bigcell", 3, notes="short")
    rows[1]["notes"] = "x" * TEN_MB
    path.write_text(_csv_text(rows), encoding="utf-8")


def _unclosed_quote_csv(path: Path) -> None:
    lines = _csv_text(_rows("unclosed", 5)).splitlines()
    lines[3] = lines[3].replace("ENUM07", '"ENUM07', 1)  # data row 3: the quote never closes
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _quote_joins_rows_csv(aligned: bool) -> Callable[[Path], None]:
    """A quote opened in data row 2 and closed in data row 4: three rows read as one; with
    `aligned` the joined row has exactly the header's number of fields."""

    def write(path: Path) -> None:
        lines = _csv_text(_rows("joined" + ("a" if aligned else "m"), 5)).splitlines()
        lines[2] = lines[2].replace("ENUM07", '"ENUM07', 1)
        closing = "ENUM07" if aligned else "outflow"
        lines[4] = lines[4].replace(closing, f'{closing}"', 1)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return write


def _conflicting_versions_csv(path: Path) -> None:
    rows = [
        submission("conflict-1"),
        submission("conflict-1", **{"profile/sex": "male"}),
        submission("conflict-2"),
    ]
    write_csv(path, rows)


def _identical_repeat_csv(path: Path) -> None:
    write_csv(path, [submission("repeat-1"), submission("repeat-1")])


def _zip_bomb_xlsx(size: int) -> Callable[[Path], None]:
    """A sound workbook whose first sheet unpacks to `size` bytes of identical rows
    (a thousandfold compression): millions of rows from a file of a few hundred kilobytes."""

    def write(path: Path) -> None:
        plain = io.BytesIO()
        workbook = openpyxl.Workbook()
        workbook.active["A1"] = "_uuid"
        workbook.save(plain)
        row = b'<row><c t="inlineStr"><is><t>bomb</t></is></c></row>'
        with (
            zipfile.ZipFile(plain) as source,
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb,
        ):
            for member in source.infolist():
                if member.filename != "xl/worksheets/sheet1.xml":
                    bomb.writestr(member, source.read(member))
                    continue
                head, tail = source.read(member).split(b"</sheetData>")
                with bomb.open(member.filename, "w", force_zip64=True) as sheet:
                    sheet.write(head)
                    block = row * (2**20 // len(row))
                    for _ in range(size // len(block) + 1):
                        sheet.write(block)
                    sheet.write(b"</sheetData>" + tail)

    return write


def _one_far_cell_xlsx(path: Path) -> None:
    """Two cells, A1 and XFD1048576: a few kilobytes that a reader lays out as 17 billion."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"] = "_uuid"
    sheet["XFD1048576"] = "far"
    workbook.save(path)


def _write_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _write_text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def _valid_csv(prefix: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(_csv_text(_rows(prefix, 1)), encoding="utf-8")


def _too_big_json(size: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        document = _kobo_document(_rows("toobig", 1))
        document["results"][0]["notes"] = "y" * size  # type: ignore[index]
        path.write_text(json.dumps(document), encoding="utf-8")

    return write


def _duplicate_header_csv(path: Path) -> None:
    text = _csv_text(_rows("duphead", 1))
    header, rest = text.split("\n", 1)
    path.write_text(header + ";_uuid\n" + rest.replace("\n", ";other-uuid\n"), encoding="utf-8")


def _symlink_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def _dangling_symlink(path: Path) -> None:
    path.symlink_to(path.parent / "vanished-target.csv")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _with_row(prefix: str, **answers: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(
        _csv_text([submission(f"{prefix}-1", **answers)]), encoding="utf-8"
    )


def _nul_cell_csv(path: Path) -> None:
    path.write_text(
        _csv_text([submission("nul-1", **{"intro/enumerator_id": "EN\x00UM"})]), encoding="utf-8"
    )


def _nan_json(path: Path) -> None:
    document = _kobo_document(_rows("nanjson", 1))
    document["results"][0]["_id"] = float("nan")  # type: ignore[index]
    path.write_text(json.dumps(document), encoding="utf-8")  # writes NaN, as Python allows


# --- FMR, reference --------------------------------------------------------------------


def _tally(date: str, count: str = "4", hours: str = "8", fmp: str = "LAO_FMP_002") -> list[str]:
    return [date, fmp, "inflow", "male", "adults", "LAO", "bus", count, "OBS9", hours]


def _fmr_text(rows: list[list[str]], header: list[str] | None = None) -> str:
    buffer = io.StringIO()
    write = csv.writer(buffer, lineterminator="\n")
    write.writerow(header or list(FMR_COLUMNS))
    write.writerows(rows)
    return buffer.getvalue()


IMPOSSIBLE_TALLIES = [
    _tally("2025-06-01"),  # the one good row
    _tally("2025-06-02", count="-3"),
    _tally("2025-06-03", count="many"),
    _tally("2025-06-04", count="1" + "0" * 30),
    _tally("9999-12-31"),
    _tally("1900-01-01"),
    _tally("2025-02-30"),
    _tally("2025-06-05", hours="nan"),
    _tally("2025-06-06", hours="inf"),
    _tally("2025-06-07", hours="-1"),
]


def _fmr_unclosed(path: Path) -> None:
    lines = _fmr_text([_tally("2025-07-0" + str(d)) for d in range(1, 6)]).splitlines()
    lines[3] = lines[3].replace("OBS9", '"OBS9', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fmr_huge_cell(path: Path) -> None:
    rows = [_tally("2025-08-01"), _tally("2025-08-02"), _tally("2025-08-03")]
    rows[1][8] = "z" * TEN_MB
    path.write_text(_fmr_text(rows), encoding="utf-8")


FX_RATES = (
    "\n".join(
        [
            "month,currency,lak_per_unit",
            "2026-01,THB,612.5",  # the one good row
            "2026-01,CNY,0",
            "2026-01,USD,-21000",
            "2026-02,THB,inf",
            "2026-02,CNY,nan",
            "2026-02,USD,1e400",
            "2026-03,THB,-inf",
            "2026-03,CNY,lots",
        ]
    )
    + "\n"
)


# --- stories ---------------------------------------------------------------------------

STORY_FIELDS = (
    "id: {id}\ntitle: A story\npublished: 2026-02-01\nlanguage: en\nconsent: public\n"
    "person:\n  pseudonym: Noy\n"
)


def _story(front_matter: str, body: str = "The story.\n") -> Callable[[Path], None]:
    return lambda path: path.write_text(f"---\n{front_matter}---\n{body}", encoding="utf-8")


BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    + "themes: *i\n"  # 9^9 strings once expanded, as the quarantine record would be
    + STORY_FIELDS.format(id="laughs")
)


def hostile_cases(limits: IngestLimits = TEST_LIMITS) -> list[HostileCase]:
    bigger = limits.max_parsed_file_bytes + 2**20
    return [
        HostileCase("kobo-json-nested-10000", "fms", "deep_10000.json", _deep_kobo_json,
                    "failed", "nested deeper"),
        HostileCase("kobo-json-one-value-nested-100", "fms", "deep_100.json",
                    _one_deep_value_json, "loaded", "FMW_MAX_NESTING_DEPTH", (2, 1, 0, 1)),
        HostileCase("csv-10mb-cell", "fms", "huge_cell.csv", _huge_cell_csv, "loaded",
                    "FMW_MAX_CELL_KB", (3, 2, 0, 1)),
        HostileCase("csv-quote-never-closed", "fms", "unclosed_quote.csv", _unclosed_quote_csv,
                    "failed", "never closed"),
        HostileCase("csv-quote-joins-rows-ragged", "fms", "joined_ragged.csv",
                    _quote_joins_rows_csv(aligned=False), "loaded", "joined by a quote",
                    (5, 2, 0, 3)),
        HostileCase("csv-quote-joins-rows-aligned", "fms", "joined_aligned.csv",
                    _quote_joins_rows_csv(aligned=True), "loaded", "joined by a quote",
                    (5, 2, 0, 3)),
        HostileCase("csv-conflicting-versions-of-one-uuid", "fms", "conflict.csv",
                    _conflicting_versions_csv, "loaded",
                    "conflicting versions of one submission in one file", (3, 1, 0, 2)),
        HostileCase("csv-identical-repeat-is-a-duplicate", "fms", "repeat.csv",
                    _identical_repeat_csv, "loaded", "", (2, 1, 1, 0)),
        HostileCase("xlsx-zip-bomb", "fms", "bomb.xlsx", _zip_bomb_xlsx(bigger), "failed",
                    "zip bomb"),
        HostileCase("xlsx-one-far-cell", "fms", "far_cell.xlsx", _one_far_cell_xlsx, "failed",
                    "1,048,576 rows x 16,384 columns"),
        HostileCase("xlsx-not-a-zip", "fms", "not_a_zip.xlsx",
                    _write_bytes(b"_uuid;today\nu;2026-01-01\n"), "failed", "cannot read XLSX"),
        HostileCase("xlsx-truncated-zip", "fms", "truncated.xlsx",
                    _write_bytes(b"PK\x03\x04\x14\x00\x00\x00broken"), "failed",
                    "cannot read XLSX"),
        HostileCase("csv-empty", "fms", "empty.csv", _write_bytes(b""), "failed", "empty file"),
        HostileCase("csv-header-only", "fms", "header_only.csv",
                    _write_text(_csv_text(_rows("header", 1)).split("\n")[0] + "\n"),
                    "loaded", "", (0, 0, 0, 0)),
        HostileCase("csv-bom-then-garbage", "fms", "garbage.csv",
                    _write_bytes(b"\xef\xbb\xbf" + bytes(range(128, 256)) * 4), "failed",
                    "not UTF-8"),
        HostileCase("csv-utf16", "fms", "utf16.csv",
                    _write_bytes(_csv_text(_rows("utf16", 1)).encode("utf-16")), "failed",
                    "not UTF-8"),
        HostileCase("csv-duplicate-headers", "fms", "duplicate_header.csv",
                    _duplicate_header_csv, "failed", "more than once"),
        HostileCase("kobo-json-count-disagrees", "fms", "count_mismatch.json",
                    _write_json(_kobo_document(_rows("count", 2)) | {"count": 7}), "failed",
                    "'count' says 7"),
        HostileCase("kobo-json-results-not-a-list", "fms", "results_object.json",
                    _write_json({"count": 1, "next": None, "results": {"a": 1}}), "failed",
                    "no 'results' list"),
        HostileCase("kobo-json-top-level-list", "fms", "top_level_list.json",
                    _write_json([1, 2, 3]), "failed", "no 'results' list"),
        HostileCase("kobo-json-larger-than-the-limit", "fms", "too_big.json",
                    _too_big_json(bigger), "failed", "FMW_MAX_PARSED_FILE_MB"),
        HostileCase("kobo-json-nan-id", "fms", "nan_id.json", _nan_json, "loaded",
                    "not an integer", (1, 0, 0, 1)),
        HostileCase("csv-id-beyond-64-bits", "fms", "huge_id.csv",
                    _with_row("hugeid", _id="9" * 40), "loaded", "not an integer (64-bit)",
                    (1, 0, 0, 1)),
        HostileCase("csv-nul-in-a-cell", "fms", "nul_cell.csv", _nul_cell_csv, "loaded", "",
                    (1, 1, 0, 0)),
        HostileCase("name-with-newline", "fms", "new\nline.csv", _valid_csv("newline"),
                    "loaded", "", (1, 1, 0, 0)),
        HostileCase("name-with-quotes", "fms", "it's \"quoted\"; --.csv", _valid_csv("quotes"),
                    "loaded", "", (1, 1, 0, 0)),
        HostileCase("name-with-dot-dot", "fms", "up..%2F..%2Fescape..csv", _valid_csv("dotdot"),
                    "loaded", "", (1, 1, 0, 0)),
        HostileCase("name-not-utf8", "fms", os.fsdecode(b"export-\xff\xfe.csv"),
                    _valid_csv("notutf8"), "loaded", "", (1, 1, 0, 0)),
        HostileCase("name-not-utf8-xlsx", "fms", os.fsdecode(b"export-\xff.xlsx"),
                    lambda path: write_xlsx(path, _rows("notutf8x", 1)), "loaded", "",
                    (1, 1, 0, 0)),
        HostileCase("name-that-is-a-glob", "fms", "*.csv", _valid_csv("glob"), "loaded", "",
                    (1, 1, 0, 0)),
        HostileCase("symlink-outside-the-landing-zone", "fms", "passwd.csv",
                    _symlink_to("/etc/passwd"), "failed", "outside the landing zone"),
        HostileCase("symlink-to-nothing", "fms", "dangling.csv", _dangling_symlink, "failed",
                    "to nothing"),
        HostileCase("named-pipe", "fms", "pipe.csv", _fifo, "failed", "not a regular file"),
        HostileCase("unsupported-extension", "fms", "export.exe", _write_bytes(b"MZ\x90\x00"),
                    "failed", "unsupported file type"),
        HostileCase("fmr-impossible-values", "fmr", "impossible.csv",
                    _write_text(_fmr_text(IMPOSSIBLE_TALLIES)), "loaded",
                    "more than 1,000,000 people", (10, 1, 0, 9)),
        HostileCase("fmr-quote-never-closed", "fmr", "unclosed.csv", _fmr_unclosed, "failed",
                    "never closed"),
        HostileCase("fmr-10mb-cell", "fmr", "huge_cell.csv", _fmr_huge_cell, "loaded",
                    "FMW_MAX_CELL_KB", (3, 2, 0, 1)),
        HostileCase("fmr-duplicate-headers", "fmr", "duplicate_header.csv",
                    _write_text(_fmr_text([_tally("2025-09-01")],
                                          [*FMR_COLUMNS[:-1], "count"])),
                    "failed", "more than once"),
        HostileCase("fmr-empty", "fmr", "empty.csv", _write_bytes(b""), "failed",
                    "missing column"),
        HostileCase("fx-rates-zero-negative-inf-nan", "reference", "fx_rates.csv",
                    _write_text(FX_RATES), "loaded", "not a positive, finite number",
                    (8, 1, 0, 7)),
        HostileCase("reference-unknown-file", "reference", "rates.csv",
                    _write_text("month,currency,lak_per_unit\n2026-05,THB,600\n"), "failed",
                    "only fx_rates.csv"),
        HostileCase("story-front-matter-nested-5000", "stories", "deep.md",
                    _story(STORY_FIELDS.format(id="deep") + f"extra: {_nested_json(5000)}\n"),
                    "failed", "FMW_MAX_NESTING_DEPTH"),
        HostileCase("story-billion-laughs", "stories", "laughs.md", _story(BILLION_LAUGHS),
                    "failed", "aliases"),
        HostileCase("story-front-matter-too-large", "stories", "large.md",
                    _story(STORY_FIELDS.format(id="large") + f"note: {'w' * 100_000}\n"),
                    "failed", "FMW_MAX_FRONT_MATTER_KB"),
        HostileCase("story-python-tag", "stories", "python_tag.md",
                    _story(STORY_FIELDS.format(id="tag")
                           + "x: !!python/object/apply:os.system ['true']\n"),
                    "failed", "not valid YAML"),
        HostileCase("story-without-front-matter", "stories", "no_front.md",
                    _write_text("# Just a title\n"), "failed", "no YAML front matter"),
        HostileCase("story-binary", "stories", "binary.md", _write_bytes(bytes(range(256))),
                    "failed", "not UTF-8"),
        HostileCase("story-front-matter-a-list", "stories", "a_list.md", _story("- a\n- b\n"),
                    "failed", "not a mapping"),
    ]  # fmt: skip


def write_case(landing: Path, case: HostileCase) -> Path:
    path = landing / case.source / case.file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    case.write(path)
    return path


def write_kobo_sample(landing: Path, prefix: str) -> Path:
    """One good Kobo export, to show the warehouse still ingests after the corpus."""
    return write_kobo_json(landing / "fms" / f"{prefix}.json", _rows(prefix, 2))
