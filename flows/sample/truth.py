"""What the warehouse must publish from the sample (the generator's own truth), and the manifest."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from flows.form.xlsform import Form
from flows.sample.fms_exports import BadRow
from flows.sample.realism import NOT_APPROVED
from flows.sample.submissions import _Submission
from flows.sample.timeline import _utc_iso


class CorridorCount(TypedDict):
    month: str
    direction: str
    origin_adm1_code: str
    dest_country_iso3: str
    respondents: int
    female_respondents: int


class EditChain(TypedDict):
    kobo_id: int
    role: str
    uuids: list[str]  # oldest first; the last one is final
    since: list[str]  # UTC time each version was submitted or edited
    quarantined: bool


class StatusChange(TypedDict):
    kobo_id: int
    uuid: str
    statuses: list[dict[str, str]]  # [{"since": UTC time, "status": code}], oldest first


class Totals(TypedDict):
    submissions: int  # distinct submissions after edits are resolved
    versions: int  # distinct _uuid values generated (originals and edits)
    edited_submissions: int
    quarantined: int  # submissions whose final version breaks the form (every row quarantined)
    rejected: int  # final status validation_status_not_approved (not quarantined)
    refusals: int  # consent = no, not rejected, not quarantined
    respondents: int  # consent = yes, not rejected, not quarantined: the corridor mart's total
    female_respondents: int


class _FmsTruth:
    """What the warehouse must make of the submissions, accumulated as they stream past."""

    def __init__(self) -> None:
        self.corridor: dict[tuple[str, str, str, str], list[int]] = {}
        self.edits: list[EditChain] = []
        self.status_changes: list[StatusChange] = []
        self.versions = 0
        self.quarantined = 0
        self.rejected = 0
        self.refusals = 0

    def add(self, sub: _Submission) -> None:
        final = sub.versions[-1]
        self.versions += len(sub.versions)
        if len(sub.versions) > 1:
            self.edits.append(
                {
                    "kobo_id": sub.kobo_id,
                    "role": sub.role,
                    "uuids": [v.uuid for v in sub.versions],
                    "since": [_utc_iso(v.since) for v in sub.versions],
                    "quarantined": sub.bad is not None,
                }
            )
        if len(final.statuses) > 1:
            self.status_changes.append(
                {
                    "kobo_id": sub.kobo_id,
                    "uuid": final.uuid,
                    "statuses": [{"since": _utc_iso(t), "status": s} for t, s in final.statuses],
                }
            )
        if sub.bad is not None:
            self.quarantined += 1
            return
        a = final.answers
        if final.statuses[-1][1] == NOT_APPROVED:
            self.rejected += 1
        elif a["consent"] != "yes":
            self.refusals += 1
        else:
            key = (a["today"][:7] + "-01", a["direction"], a["origin_adm1"], a["dest_country"])
            cell = self.corridor.setdefault(key, [0, 0])
            cell[0] += 1
            cell[1] += a["sex"] == "female"

    def corridor_rows(self) -> list[CorridorCount]:
        return [
            {
                "month": month,
                "direction": direction,
                "origin_adm1_code": origin,
                "dest_country_iso3": dest,
                "respondents": counts[0],
                "female_respondents": counts[1],
            }
            for (month, direction, origin, dest), counts in sorted(self.corridor.items())
        ]

    def totals(self, submissions: int) -> Totals:
        return {
            "submissions": submissions,
            "versions": self.versions,
            "edited_submissions": len(self.edits),
            "quarantined": self.quarantined,
            "rejected": self.rejected,
            "refusals": self.refusals,
            "respondents": sum(c[0] for c in self.corridor.values()),
            "female_respondents": sum(c[1] for c in self.corridor.values()),
        }


class _IdentifierSample:
    """Up to `limit` distinct values of each direct identifier written to a file, taken from
    the first `submissions` submissions (enough to cover every pool of names and villages)."""

    def __init__(self, form: Form, limit: int = 500, submissions: int = 10_000) -> None:
        self.limit = limit
        self.remaining = submissions
        self.fields = tuple(
            f.name for f in form.fields if f.is_direct_identifier and f.type != "geopoint"
        )
        self.gps = next(f.name for f in form.fields if f.type == "geopoint")
        keys = [*self.fields, self.gps, f"{self.gps}_latitude", f"{self.gps}_longitude"]
        self.values: dict[str, dict[str, None]] = {key: {} for key in keys}

    def add(self, sub: _Submission) -> None:
        if self.remaining <= 0:
            return
        self.remaining -= 1
        for version in sub.versions:
            if version.row is None:  # never written to any file
                continue
            answers = version.answers
            pairs = [(name, answers[name]) for name in self.fields]
            gps = answers[self.gps]
            if gps:
                lat, lon, _, _ = gps.split(" ")
                pairs += [(self.gps, gps), (f"{self.gps}_latitude", lat)]
                pairs.append((f"{self.gps}_longitude", lon))
            for key, value in pairs:
                bucket = self.values[key]
                if value and len(bucket) < self.limit:
                    bucket[value] = None

    def as_lists(self) -> dict[str, list[str]]:
        return {key: list(values) for key, values in self.values.items()}


# --------------------------------------------------------------------------- manifest types


class FileRecord(TypedDict):
    source: str  # fms / fmr / stories / reference
    name: str  # file name within the source folder
    format: str  # csv / xlsx / json / md
    rows: int  # data rows written (header excluded); stories: 1
    bad_rows: list[BadRow]
    mtime: int  # epoch seconds, set with os.utime
    arrival: int  # 1-based rank within its source folder: by mtime, then name
    description: NotRequired[str]
    delimiter: NotRequired[str]
    bom: NotRequired[bool]
    select_multiple: NotRequired[str]  # space / columns / both
    column_order: NotRequired[str]
    exported_at: NotRequired[str]  # UTC; the export holds submissions up to this time
    field_offices: NotRequired[list[str] | None]
    cap: NotRequired[int | None]
    duplicate_of: NotRequired[str]  # byte-identical copy of this file


class FmrFlow(TypedDict):
    date: str
    fmp_code: str
    direction: str
    individuals: int


class StoryExpectation(TypedDict):
    id: str
    file: str
    consent: str
    language: str
    residence_place: str | None
    residence_adm1_code: str | None
    residence_adm2_code: str | None
    residence_match: str  # exact / alias / fuzzy / unmatched
    residence_match_accepted: list[str]  # qualities a sound gazetteer may also report


class BadStoryFile(TypedDict):
    file: str
    problem: str


class Manifest(TypedDict):
    generator: str
    surveys: int
    seed: int
    csv_only: bool
    form_id: str
    form_version: str
    row_number_convention: str
    files: list[FileRecord]
    totals: Totals
    fms_corridor_monthly: list[CorridorCount]
    respondents_by_origin_adm1: dict[str, int]
    edits: list[EditChain]
    status_changes: list[StatusChange]
    fmr_daily_flows: list[FmrFlow]
    stories: list[StoryExpectation]
    bad_story_files: list[BadStoryFile]
    public_stories_by_adm1: dict[str, int]
    direct_identifiers: dict[str, list[str]]
