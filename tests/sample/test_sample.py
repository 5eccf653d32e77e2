"""The sample landing zone: deterministic, in every contract format, and its manifest agrees
with what is in the files (recomputed here from the files by independent, simple code)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from flows.form.xlsform import Form
from flows.sample.generator import MANIFEST_NAME, Manifest, generate_landing_zone, summary

SURVEYS = 300
SEED = 7
REJECTED = "validation_status_not_approved"
FMS_BAD_KINDS = {
    "missing_uuid",
    "not_in_choices",
    "not_an_integer",
    "constraint_violated",
    "required_missing",
    "choice_filter_violated",
}

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("sample")
    return out, generate_landing_zone(out, surveys=SURVEYS, seed=SEED)


def records(manifest: Manifest, source: str) -> list[dict[str, Any]]:
    return [dict(f) for f in manifest["files"] if f["source"] == source]


def cumulative_exports(manifest: Manifest) -> list[dict[str, Any]]:
    """The all-office CSV exports (not the byte copy), oldest first."""
    return sorted(
        (
            f
            for f in records(manifest, "fms")
            if f["format"] == "csv" and not f["field_offices"] and "duplicate_of" not in f
        ),
        key=lambda f: f["exported_at"],
    )


def last_export(manifest: Manifest) -> dict[str, Any]:
    return cumulative_exports(manifest)[-1]


# --------------------------------------------------------------------------- readers


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = rows[0]
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


def read_xlsx(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        values = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    header = [str(h) for h in values[0]]
    rows = [
        {h: "" if v is None else str(v) for h, v in zip(header, row, strict=True)}
        for row in values[1:]
    ]
    return header, rows


def read_json(path: Path) -> list[dict[str, Any]]:
    page = json.loads(path.read_text(encoding="utf-8"))
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == len(page["results"])
    assert page["next"] is None and page["previous"] is None
    return page["results"]


def read_rows(folder: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    path = folder / record["source"] / record["name"]
    if record["format"] == "xlsx":
        return read_xlsx(path)[1]
    if record["format"] == "json":
        return read_json(path)
    return read_csv(path)[1]


def front_matter(path: Path) -> dict[str, Any]:
    _, matter, _ = path.read_text(encoding="utf-8").split("---\n", 2)
    loaded = yaml.safe_load(matter)
    assert isinstance(loaded, dict)
    return loaded


# --------------------------------------------------------------------------- form checks


def choice_attributes(form: Form, list_name: str) -> dict[str, dict[str, str]]:
    return {c.name: c.attributes for c in form.choices[list_name]}


def row_problems(row: dict[str, str], form: Form) -> list[tuple[str, str]]:
    """(column, kind) of every way this export row breaks the form."""
    problems: list[tuple[str, str]] = []
    if not row["_uuid"]:
        problems.append(("_uuid", "missing_uuid"))
    consenting = row["intro/consent"] == "yes"
    for f in form.fields:
        value = row.get(f.path, "")
        if f.required and not value:
            # the only relevance a required field has in this form is consent
            assert set(f.relevant) <= {"${consent} = 'yes'"}
            if consenting or not f.relevant:
                problems.append((f.path, "required_missing"))
        if not value:
            continue
        if f.type == "select_one":
            attributes = choice_attributes(form, f.list_name or "")
            if value not in attributes:
                problems.append((f.path, "not_in_choices"))
            elif f.choice_filter:
                attribute, _, target = (p.strip() for p in f.choice_filter.partition("="))
                wanted = target.strip("'")
                if target.startswith("${"):
                    wanted = row[form.field(target[2:-1]).path]
                if attributes[value].get(attribute) != wanted:
                    problems.append((f.path, "choice_filter_violated"))
        elif f.type == "select_multiple":
            if not set(value.split()) <= set(form.choice_names(f.list_name or "")):
                problems.append((f.path, "not_in_choices"))
        elif f.type == "integer":
            if not re.fullmatch(r"-?\d+", value):
                problems.append((f.path, "not_an_integer"))
            elif f.constraint:
                for op, bound in re.findall(r"\. (>=|<=) (\d+)", f.constraint):
                    if (op == ">=" and int(value) < int(bound)) or (
                        op == "<=" and int(value) > int(bound)
                    ):
                        problems.append((f.path, "constraint_violated"))
    return problems


# --------------------------------------------------------------------------- tests


def test_same_arguments_give_identical_bytes_and_mtimes(
    sample: tuple[Path, Manifest], tmp_path: Path
) -> None:
    first, _ = sample
    generate_landing_zone(tmp_path, surveys=SURVEYS, seed=SEED)
    first_files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    second_files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first_files == second_files
    for relative in first_files:
        a, b = first / relative, tmp_path / relative
        assert a.read_bytes() == b.read_bytes(), relative
        assert a.stat().st_mtime_ns == b.stat().st_mtime_ns, relative


def test_another_seed_gives_other_submissions(
    sample: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = sample
    other = generate_landing_zone(tmp_path, surveys=SURVEYS, seed=SEED + 1)
    name = last_export(manifest)["name"]
    assert (folder / "fms" / name).read_bytes() != (tmp_path / "fms" / name).read_bytes()
    assert other["fms_corridor_monthly"] != manifest["fms_corridor_monthly"]


def test_generating_into_a_used_folder_is_refused(sample: tuple[Path, Manifest]) -> None:
    folder, _ = sample
    with pytest.raises(FileExistsError):
        generate_landing_zone(folder, surveys=SURVEYS, seed=SEED)


def test_every_fms_format_is_present_and_parses(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    fms = folder / "fms"
    csv_files = [f for f in records(manifest, "fms") if f["format"] == "csv"]
    raw = {f["name"]: (fms / f["name"]).read_bytes() for f in csv_files}
    semicolon_bom = [n for n, b in raw.items() if b.startswith(b"\xef\xbb\xbf") and b'";"' in b]
    comma_plain = [n for n, b in raw.items() if not b.startswith(b"\xef\xbb\xbf")]
    assert semicolon_bom and comma_plain
    for name in comma_plain:
        assert read_csv(fms / name)[0][0] != ""  # parses as comma-separated

    (xlsx,) = [f for f in records(manifest, "fms") if f["format"] == "xlsx"]
    header, rows = read_xlsx(fms / xlsx["name"])
    assert "_uuid" in header and "journey/transport/bus" in header and rows

    (api,) = [f for f in records(manifest, "fms") if f["format"] == "json"]
    results = read_json(fms / api["name"])
    assert results
    statuses = [r["_validation_status"] for r in results]
    assert all(isinstance(s, dict) for s in statuses)
    assert {s["uid"] for s in statuses if s} <= {
        "validation_status_approved",
        "validation_status_on_hold",
        REJECTED,
    }
    assert any(s == {} for s in statuses)
    for result in results:
        assert isinstance(result["_id"], int)
        assert isinstance(result["_notes"], list) and isinstance(result["_tags"], list)
        assert isinstance(result["_attachments"], list)
        assert len(result["_geolocation"]) == 2
        answers = {k: v for k, v in result.items() if "/" in k and k != "formhub/uuid"}
        assert all(isinstance(v, str) and v != "" for v in answers.values())
        if result["intro/consent"] == "no":
            assert "profile/age" not in result  # unanswered questions are absent


def test_exports_vary_like_real_kobo_exports(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    headers = {
        f["name"]: read_csv(folder / "fms" / f["name"])[0] for f in cumulative_exports(manifest)
    }
    encodings = set()
    for header in headers.values():
        space = "journey/transport" in header
        columns = "journey/transport/bus" in header
        encodings.add("both" if space and columns else "space" if space else "columns")
    assert encodings == {"space", "columns", "both"}
    assert len({tuple(h) for h in headers.values()}) == len(headers)  # orders differ
    *earlier, last = headers.values()
    assert "work/remittance_channel" in last
    assert all("work/remittance_channel" not in h for h in earlier)
    rows = read_csv(folder / "fms" / last_export(manifest)["name"])[1]
    versions = {r["__version__"] for r in rows if r["work/remittance_channel"]}
    assert len(versions) == 1 and len({r["__version__"] for r in rows}) == 2


def test_manifest_row_counts_match_the_files(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    for record in manifest["files"]:
        if record["source"] == "stories":
            continue
        assert len(read_rows(folder, record)) == record["rows"], record["name"]
    assert last_export(manifest)["rows"] == SURVEYS


def test_bad_rows_are_where_the_manifest_says(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    fms_kinds, fmr_kinds = set(), set()
    for record in manifest["files"]:
        if not record["bad_rows"]:
            continue
        rows = read_rows(folder, record)
        for bad in record["bad_rows"]:
            row = rows[bad["row"] - 1]
            assert str(row.get(bad["column"], "")) == bad["value"], (record["name"], bad)
        kinds = fms_kinds if record["source"] == "fms" else fmr_kinds
        kinds |= {bad["kind"] for bad in record["bad_rows"]}
    assert fms_kinds == FMS_BAD_KINDS
    assert fmr_kinds == {"negative_count", "unknown_fmp", "bad_date"}
    formats_with_bad_rows = {f["format"] for f in records(manifest, "fms") if f["bad_rows"]}
    assert formats_with_bad_rows == {"csv", "xlsx", "json"}


def test_last_export_gives_the_manifest_corridors_and_totals(
    sample: tuple[Path, Manifest], form: Form
) -> None:
    """The last cumulative export holds every submission's final version and status."""
    folder, manifest = sample
    record = last_export(manifest)
    rows = read_csv(folder / "fms" / record["name"])[1]
    found = set()
    corridor: Counter[tuple[str, str, str, str]] = Counter()
    female: Counter[tuple[str, str, str, str]] = Counter()
    refusals = rejected = 0
    for number, row in enumerate(rows, start=1):
        problems = row_problems(row, form)
        found |= {(number, column, kind) for column, kind in problems}
        if problems:
            continue
        if row["_validation_status"] == REJECTED:
            rejected += 1
        elif row["intro/consent"] == "no":
            refusals += 1
        else:
            key = (
                row["today"][:7] + "-01",
                row["intro/direction"],
                row["origin/origin_adm1"],
                row["journey/dest_country"],
            )
            corridor[key] += 1
            female[key] += row["profile/sex"] == "female"
    expected_bad = {(b["row"], b["column"], b["kind"]) for b in record["bad_rows"]}
    assert found == expected_bad
    expected = {
        (c["month"], c["direction"], c["origin_adm1_code"], c["dest_country_iso3"]): (
            c["respondents"],
            c["female_respondents"],
        )
        for c in manifest["fms_corridor_monthly"]
    }
    assert {key: (corridor[key], female[key]) for key in corridor} == expected
    totals = manifest["totals"]
    assert totals["quarantined"] == len({number for number, _, _ in found})
    assert (totals["refusals"], totals["rejected"]) == (refusals, rejected)
    assert totals["respondents"] == sum(corridor.values())
    assert totals["submissions"] == SURVEYS
    assert totals["quarantined"] + totals["rejected"] + totals["refusals"] + totals[
        "respondents"
    ] == len(rows)
    assert refusals > 0 and rejected > 0
    assert {month for month, _, _, _ in corridor} == {f"2026-0{m}-01" for m in range(1, 7)}


def test_edits_appear_as_kobo_exports_them(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    rows_by_file = {
        f["name"]: read_rows(folder, f) for f in records(manifest, "fms") if "duplicate_of" not in f
    }
    uuids_by_file = {
        name: {r.get("_uuid", "") for r in rows} for name, rows in rows_by_file.items()
    }
    last = last_export(manifest)["name"]
    final_rows = {r["_uuid"]: r for r in rows_by_file[last]}
    assert any(len(edit["uuids"]) == 3 for edit in manifest["edits"])  # a chain of two edits
    for edit in manifest["edits"]:
        *older, final = edit["uuids"]
        assert final in final_rows
        assert final_rows[final]["meta/deprecatedID"] == f"uuid:{older[-1]}"
        assert not set(older) & uuids_by_file[last]
        for name, uuids in uuids_by_file.items():
            assert len(set(edit["uuids"]) & uuids) <= 1, name  # one version per export

    late = max(records(manifest, "fms"), key=lambda f: f["mtime"])
    late_edits = [e for e in manifest["edits"] if e["role"] == "edit_original_delivered_late"]
    assert late_edits
    for edit in late_edits:
        original, edited = edit["uuids"]
        holding_original = [n for n, uuids in uuids_by_file.items() if original in uuids]
        assert holding_original == [late["name"]]
        assert any(edited in uuids for n, uuids in uuids_by_file.items() if n != late["name"])


def test_a_submission_is_approved_early_and_rejected_later(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    (change,) = manifest["status_changes"]
    first, *_, last = cumulative_exports(manifest)
    status_in = {
        f["name"]: {r["_uuid"]: r["_validation_status"] for r in read_rows(folder, f)}
        for f in (first, last)
    }
    assert status_in[first["name"]][change["uuid"]] == "validation_status_approved"
    assert status_in[last["name"]][change["uuid"]] == REJECTED


def test_refusals_and_relevance_follow_the_form(sample: tuple[Path, Manifest], form: Form) -> None:
    folder, manifest = sample
    rows = read_csv(folder / "fms" / last_export(manifest)["name"])[1]
    consent_gated = [f.path for f in form.fields if any("${consent}" in r for r in f.relevant)]
    refusals = [r for r in rows if r["intro/consent"] == "no"]
    assert refusals
    for row in refusals:
        assert all(row[path] == "" for path in consent_gated)
    for row in rows:
        if row["intro/direction"] == "inflow":
            assert row["work/job_secured"] == row["work/intended_stay"] == ""
        else:
            assert row["protection/risks_experienced"] == ""
        if row["origin/origin_adm2"]:
            assert row["origin/origin_adm1"] in {"LA-PH", "LA-LM"}
        if row["journey/debt_lak"]:
            assert "loan" in row["journey/cost_paid_by"].split()
        if row["work/expected_income_currency"]:
            assert row["work/expected_income"]
        for option in form.choice_names("transport"):
            selected = option in row["journey/transport"].split()
            column = row[f"journey/transport/{option}"]
            assert column == ("" if not row["journey/transport"] else "1" if selected else "0")


def test_rows_carry_kobo_details_and_identifiers(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    rows = read_csv(folder / "fms" / last_export(manifest)["name"])[1]
    local = r"2026-0[1-7]-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00"
    for row in rows:
        assert re.fullmatch(local, row["start"]) and re.fullmatch(local, row["end"])
        assert row["today"] == row["start"][:10] and row["start"] < row["end"]
        assert re.fullmatch(r"2026-0[1-7]-\d\dT\d\d:\d\d:\d\d", row["_submission_time"])
        assert row["_status"] == "submitted_via_web" and row["_id"].isdigit()
        assert re.fullmatch(r"collect:[A-Za-z0-9]{16}", row["deviceid"])
        if row["_uuid"]:
            assert row["meta/instanceID"] == f"uuid:{row['_uuid']}"
        if row["profile/phone"]:
            assert re.fullmatch(r"\+856 20 \d{4} \d{4}", row["profile/phone"])
        if row["gps"]:
            lat, lon, _, _ = row["gps"].split()
            assert (lat, lon) == (row["_gps_latitude"], row["_gps_longitude"])
    ids = [int(r["_id"]) for r in rows]
    assert ids == sorted(ids)
    assert Counter(r["intro/fmp"] for r in rows).most_common(1)[0][0] in {
        "LAO_FMP_001",
        "LAO_FMP_002",
    }
    text = (folder / "fms" / last_export(manifest)["name"]).read_text(encoding="utf-8")
    identifiers = manifest["direct_identifiers"]
    for key in ("respondent_name", "phone", "deviceid", "origin_village", "gps"):
        assert identifiers[key] and all(value in text for value in identifiers[key]), key


def test_arrival_order_is_the_intended_one(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    for source in ("fms", "fmr", "stories", "reference"):
        on_disk = sorted(
            (p for p in (folder / source).iterdir()),
            key=lambda p: (p.stat().st_mtime_ns, p.name),
        )
        ranked = sorted(records(manifest, source), key=lambda f: f["arrival"])
        assert [p.name for p in on_disk] == [f["name"] for f in ranked], source
    fms = sorted(records(manifest, "fms"), key=lambda f: f["arrival"])
    cumulative = [f["name"] for f in fms if f in cumulative_exports(manifest)]
    assert cumulative == [f["name"] for f in cumulative_exports(manifest)]
    late = fms[-1]
    assert late["exported_at"] == min(f["exported_at"] for f in fms)
    (copy,) = [f for f in fms if "duplicate_of" in f]
    original = folder / "fms" / copy["duplicate_of"]
    assert (folder / "fms" / copy["name"]).read_bytes() == original.read_bytes()
    assert copy["arrival"] > next(f["arrival"] for f in fms if f["name"] == copy["duplicate_of"])
    fmr = {f["name"]: f for f in records(manifest, "fmr")}
    corrected, march = fmr["fmr_2026-03-corrected.csv"], fmr["fmr_2026-03.csv"]
    assert corrected["name"] < march["name"] and corrected["arrival"] > march["arrival"]


def test_fmr_flows_recomputed_from_the_files(sample: tuple[Path, Manifest], form: Form) -> None:
    folder, manifest = sample
    fmps = set(form.choice_names("fmp"))
    sheets: dict[tuple[str, str], list[dict[str, str]]] = {}
    for record in sorted(records(manifest, "fmr"), key=lambda f: f["arrival"]):
        header, rows = read_csv(folder / "fmr" / record["name"])
        assert header[:3] == ["date", "fmp", "direction"]
        in_file: dict[tuple[str, str], list[dict[str, str]]] = {}
        bad = set()
        for number, row in enumerate(rows, start=1):
            try:
                date.fromisoformat(row["date"])
            except ValueError:
                bad.add((number, "date"))
                continue
            if row["fmp"] not in fmps:
                bad.add((number, "fmp"))
            elif not row["count"].isdigit():
                bad.add((number, "count"))
            else:
                in_file.setdefault((row["date"], row["fmp"]), []).append(row)
        assert bad == {(b["row"], b["column"]) for b in record["bad_rows"]}, record["name"]
        sheets.update(in_file)  # a later file's (date, fmp) replaces the earlier rows
    flows: Counter[tuple[str, str, str]] = Counter()
    for (day, fmp), rows in sheets.items():
        for row in rows:
            flows[(day, fmp, row["direction"])] += int(row["count"])
    expected = {
        (f["date"], f["fmp_code"], f["direction"]): f["individuals"]
        for f in manifest["fmr_daily_flows"]
    }
    assert dict(flows) == expected


def test_stories_have_front_matter_and_expected_places(sample: tuple[Path, Manifest]) -> None:
    folder, manifest = sample
    stories = {s["file"]: s for s in manifest["stories"]}
    bad = {b["file"] for b in manifest["bad_story_files"]}
    assert len(stories) >= 30 and len(bad) == 2
    for path in (folder / "stories").glob("*.md"):
        if path.name in bad:
            with pytest.raises((yaml.YAMLError, AssertionError, KeyError)):
                assert front_matter(path)["id"]
            continue
        meta = front_matter(path)
        for key in ("id", "title", "published", "language", "consent"):
            assert meta[key], (path.name, key)
        assert meta["person"]["pseudonym"]
        expectation = stories[path.name]
        assert expectation["id"] == meta["id"] and expectation["consent"] == meta["consent"]
        assert expectation["residence_match"] in expectation["residence_match_accepted"]
        assert (expectation["residence_adm1_code"] is None) == (
            expectation["residence_match"] == "unmatched"
        )
    consents = Counter(s["consent"] for s in stories.values())
    languages = Counter(s["language"] for s in stories.values())
    matches = Counter(s["residence_match"] for s in stories.values())
    assert consents["public"] and consents["internal"]
    assert languages["en"] and languages["lo"]
    assert set(matches) == {"exact", "alias", "fuzzy", "unmatched"}
    assert "lao-2024-buakham.md" in stories  # the contract's example


def test_csv_only_writes_fms_exports_as_csv(tmp_path: Path) -> None:
    manifest = generate_landing_zone(tmp_path, surveys=100, seed=SEED, csv_only=True)
    assert {p.suffix for p in (tmp_path / "fms").iterdir()} == {".csv"}
    assert manifest["csv_only"] and (tmp_path / MANIFEST_NAME).is_file()
    assert summary(manifest).startswith("100 submissions")
