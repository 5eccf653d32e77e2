"""Deterministic generator of a realistic landing zone (landing-zone contract, all sections).

`generate_landing_zone(out)` writes what the field teams would deliver:

- `fms/`: KoboToolbox exports of the form, in every accepted format: cumulative monthly CSV
  exports (`;` + BOM and `,`; select_multiple as one column, as 0/1 columns or both; columns
  in different orders; a newer form version with an extra column), a field office's XLSX
  export, an API v2 JSON export, an old field-office export delivered late, and a
  byte-identical copy of one export. Submissions include edits (one chain of two), rejected,
  on-hold and unvalidated ones, refusals, and planted bad rows of every kind.
- `fmr/`: monthly registry tallies, a corrected re-send that arrives later, planted bad rows.
- `stories/`: the hand-written stories shipped in `flows/sample/stories/` (two are broken).
- `reference/fx_rates.csv`: a few exchange-rate overrides.
- `sample_manifest.json` (at the root of `out`): what was written and what the warehouse must
  publish from it, computed from the generator's own truth, never by reading files back.

Submission i is drawn from its own random stream, and the FMS folder is written in one pass
over i in which each submission goes straight into every export that contains it, so memory
does not grow with the number of submissions. File modification times are set so that the
arrival order (mtime, then name) is the intended one, and repeated runs give identical bytes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flows.form.xlsform import Form, default_form
from flows.ingest.landing import SOURCES
from flows.sample.fmr import _write_fmr
from flows.sample.fms_exports import (
    _COPY_ARRIVES,
    _WRITERS,
    _copy_name,
    _fms_exports,
    _FmsWriter,
    _KoboColumns,
)
from flows.sample.stories import _write_stories
from flows.sample.submissions import _SurveyGenerator
from flows.sample.timeline import _lt, _utc_iso
from flows.sample.truth import FileRecord, Manifest, _FmsTruth, _IdentifierSample

MANIFEST_NAME = "sample_manifest.json"
MIN_SURVEYS = 50

ROW_NUMBER_CONVENTION = (
    "bad_rows[].row is the 1-based position of the row among the file's data rows: the header "
    "is not counted, so in CSV row n is physical line n + 1 (no value contains a line break), "
    "in XLSX it is sheet row n + 1, and in JSON it is results[n - 1]."
)

# --------------------------------------------------------------------------- FMS folder


@dataclass
class _FmsResult:
    files: list[FileRecord]
    truth: _FmsTruth
    identifiers: _IdentifierSample


def _write_fms(
    folder: Path,
    form: Form,
    surveys: int,
    seed: int,
    csv_only: bool,
    progress: Callable[[int, int], None] | None,
) -> _FmsResult:
    specs = [s for s in _fms_exports(form.form_id) if s.format == "csv" or not csv_only]
    generator = _SurveyGenerator(form, surveys, seed, max(s.exported_at for s in specs))
    columns = _KoboColumns(form)
    writers = [_WRITERS[s.format](s, folder / s.name, columns) for s in specs]
    truth = _FmsTruth()
    identifiers = _IdentifierSample(form)
    for i in range(surveys):
        sub = generator.submission(i)
        for writer in writers:
            writer.offer(sub)
        identifiers.add(sub)
        truth.add(sub)
        if progress is not None and ((i + 1) % 10_000 == 0 or i + 1 == surveys):
            progress(i + 1, surveys)
    for writer in writers:
        writer.close()
    files = [_fms_record(w) for w in writers]
    files.append(_copy_export(folder, files[0]))
    return _FmsResult(files, truth, identifiers)


def _fms_record(writer: _FmsWriter) -> FileRecord:
    spec = writer.spec
    os.utime(writer.path, (spec.arrives_at, spec.arrives_at))
    record: FileRecord = {
        "source": "fms",
        "name": spec.name,
        "format": spec.format,
        "rows": writer.rows,
        "bad_rows": writer.bad_rows,
        "mtime": spec.arrives_at,
        "arrival": 0,
        "description": spec.description,
        "select_multiple": "space" if spec.format == "json" else spec.select_multiple,
        "column_order": spec.column_order,
        "exported_at": _utc_iso(spec.exported_at),
        "field_offices": list(spec.offices) if spec.offices else None,
        "cap": spec.cap,
    }
    if spec.format == "csv":
        record["delimiter"] = spec.delimiter
        record["bom"] = spec.bom
    return record


def _copy_export(folder: Path, original: FileRecord) -> FileRecord:
    name = _copy_name(original["name"])
    shutil.copyfile(folder / original["name"], folder / name)
    os.utime(folder / name, (_COPY_ARRIVES, _COPY_ARRIVES))
    copy: FileRecord = {
        **original,
        "bad_rows": list(original["bad_rows"]),
        "name": name,
        "mtime": _COPY_ARRIVES,
        "description": "the March export downloaded again: byte-identical, to be skipped",
        "duplicate_of": original["name"],
    }
    return copy


# --------------------------------------------------------------------------- reference

FX_OVERRIDES = (
    ("2026-02", "THB", "652.40"),
    ("2026-02", "CNY", "3012.50"),
    ("2026-03", "THB", "648.10"),
    ("2026-03", "USD", "21870.00"),
    ("2026-04", "KRW", "15.42"),
    ("2026-05", "MYR", "4915.00"),
)
_FX_ARRIVES = _lt(2026, 7, 1, 7)


def _write_reference(folder: Path) -> list[FileRecord]:
    path = folder / "fx_rates.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("month", "currency", "lak_per_unit"))
        writer.writerows(FX_OVERRIDES)
    os.utime(path, (_FX_ARRIVES, _FX_ARRIVES))
    return [
        {
            "source": "reference",
            "name": path.name,
            "format": "csv",
            "rows": len(FX_OVERRIDES),
            "bad_rows": [],
            "mtime": _FX_ARRIVES,
            "arrival": 0,
            "delimiter": ",",
            "bom": False,
        }
    ]


# --------------------------------------------------------------------------- entry point


def _prepare(out: Path) -> None:
    for source in SOURCES:
        folder = out / source
        if folder.exists() and any(folder.iterdir()):
            raise FileExistsError(
                f"{folder} is not empty: generate the sample into a new or empty folder"
            )
        folder.mkdir(parents=True, exist_ok=True)


def _rank_arrivals(files: list[FileRecord]) -> list[FileRecord]:
    ordered = sorted(files, key=lambda f: (SOURCES.index(f["source"]), f["mtime"], f["name"]))
    previous = ""
    rank = 0
    for record in ordered:
        rank = rank + 1 if record["source"] == previous else 1
        previous = record["source"]
        record["arrival"] = rank
    return ordered


def generate_landing_zone(
    out: Path,
    surveys: int = 5000,
    seed: int = 20260301,
    csv_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Manifest:
    """Write a sample landing zone under `out` and its manifest; return the manifest.

    `csv_only` writes the FMS exports as CSV only (no XLSX or JSON), for benchmarks at
    millions of submissions. `progress(done, total)` is called every 10,000 submissions.
    """
    if surveys < MIN_SURVEYS:
        raise ValueError(f"surveys must be at least {MIN_SURVEYS}, to hold every planted case")
    out = Path(out)
    _prepare(out)
    form = default_form()
    fms = _write_fms(out / "fms", form, surveys, seed, csv_only, progress)
    fmr = _write_fmr(out / "fmr", form, seed)
    stories = _write_stories(out / "stories")
    reference = _write_reference(out / "reference")
    corridor = fms.truth.corridor_rows()
    by_origin: dict[str, int] = {}
    for row in corridor:
        code = row["origin_adm1_code"]
        by_origin[code] = by_origin.get(code, 0) + row["respondents"]
    public: dict[str, int] = {}
    for story in stories.stories:
        if story["consent"] == "public" and story["residence_adm1_code"]:
            code = story["residence_adm1_code"]
            public[code] = public.get(code, 0) + 1
    manifest: Manifest = {
        "generator": "flows.sample.generator",
        "surveys": surveys,
        "seed": seed,
        "csv_only": csv_only,
        "form_id": form.form_id,
        "form_version": form.version,
        "row_number_convention": ROW_NUMBER_CONVENTION,
        "files": _rank_arrivals(fms.files + fmr.files + stories.files + reference),
        "totals": fms.truth.totals(surveys),
        "fms_corridor_monthly": corridor,
        "respondents_by_origin_adm1": dict(sorted(by_origin.items())),
        "edits": fms.truth.edits,
        "status_changes": fms.truth.status_changes,
        "fmr_daily_flows": fmr.flows,
        "stories": stories.stories,
        "bad_story_files": stories.bad,
        "public_stories_by_adm1": dict(sorted(public.items())),
        "direct_identifiers": fms.identifiers.as_lists(),
    }
    path = out / MANIFEST_NAME
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.utime(path, (_FX_ARRIVES, _FX_ARRIVES))
    return manifest


def summary(manifest: Manifest) -> str:
    """One line on what a generated landing zone holds, for the command line."""
    files = Counter(f["source"] for f in manifest["files"])
    fms_rows = sum(f["rows"] for f in manifest["files"] if f["source"] == "fms")
    totals = manifest["totals"]
    return (
        f"{totals['submissions']:,} submissions ({totals['respondents']:,} respondents) in "
        f"{files['fms']} FMS files ({fms_rows:,} rows), {files['fmr']} FMR files, "
        f"{files['stories']} story files, {files['reference']} reference file; "
        f"expected results in {MANIFEST_NAME}"
    )
