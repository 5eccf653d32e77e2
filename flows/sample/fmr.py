"""The Flow Monitoring Registry folder: monthly tallies, a corrected re-send, bad rows."""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flows.form.xlsform import Form
from flows.sample.draws import _int, _one, _Weighted
from flows.sample.fms_exports import BadRow
from flows.sample.realism import _FMP_PROFILES
from flows.sample.timeline import _lt
from flows.sample.truth import FileRecord, FmrFlow

FMR_HEADER = (
    "date",
    "fmp",
    "direction",
    "sex",
    "age_group",
    "nationality",
    "transport",
    "count",
    "observer_id",
    "hours_observed",
)
_FMR_SEX = {"male": 55, "female": 42, "unknown": 3}
_FMR_AGE = {"adults": 80, "children": 10, "elderly": 5, "unknown": 5}
_FMR_CORRECTIONS_FILE = "fmr_2026-03-corrected.csv"  # sorts before fmr_2026-03.csv, arrives after
_FMR_CORRECTIONS_ARRIVE = _lt(2026, 4, 20, 11)
_FMR_CORRECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("2026-02-14", "LAO_FMP_001", ("outflow", "inflow")),
    ("2026-03-03", "LAO_FMP_002", ("outflow", "inflow")),
    ("2026-03-10", "LAO_FMP_005", ("outflow", "inflow")),
    ("2026-03-17", "LAO_FMP_008", ("outflow", "inflow")),
    ("2026-03-22", "LAO_FMP_001", ("outflow",)),  # the corrected sheet has no inflow
    ("2026-03-08", "LAO_FMP_004", ("outflow", "inflow")),  # a Sunday: no sheet at first
)
# (month, after the rows of this (date, fmp), kind, column, replacement value)
_FMR_BAD: tuple[tuple[int, str, str, str, str, str], ...] = (
    (1, "2026-01-12", "LAO_FMP_003", "negative_count", "count", "-3"),
    (1, "2026-01-20", "LAO_FMP_001", "unknown_fmp", "fmp", "LAO_FMP_009"),
    (2, "2026-02-09", "LAO_FMP_005", "bad_date", "date", "2026-02-30"),
    (4, "2026-04-07", "LAO_FMP_008", "negative_count", "count", "-12"),
    (5, "2026-05-18", "LAO_FMP_007", "bad_date", "date", "18/05/2026"),
    (6, "2026-06-03", "LAO_FMP_002", "unknown_fmp", "fmp", "BOTEN"),
)


class _FmrGenerator:
    def __init__(self, form: Form, seed: int) -> None:
        self.seed = seed
        self.fmps = form.choice_names("fmp")
        self.neighbour = {c.name: c.attributes.get("neighbour", "") for c in form.choices["fmp"]}
        for code in self.fmps:
            if code not in _FMP_PROFILES:
                raise ValueError(f"no sample profile for FMP {code}")
        self.sex = _Weighted(_FMR_SEX)
        self.age = _Weighted(_FMR_AGE)
        self.transport = {code: _Weighted(p.transport) for code, p in _FMP_PROFILES.items()}

    def observed(self, day: date, fmp: str) -> bool:
        return day.weekday() in _FMP_PROFILES[fmp].weekdays

    def sheet(
        self, day: date, fmp: str, directions: tuple[str, ...], corrected: bool = False
    ) -> list[list[str]]:
        """The tally rows of one day at one point (the unit of delivery)."""
        rng = random.Random(f"{self.seed}:fmr:{'corrected' if corrected else 'sheet'}:{day}:{fmp}")
        profile = _FMP_PROFILES[fmp]
        hours = f"{profile.hours - _one(rng, (0, 0, 0, 0.5, 1.0, 1.5)):.1f}"
        observer = f"OBS-{profile.prefix}-{_int(rng, 1, 3):02d}"
        rows: list[list[str]] = []
        for direction in directions:
            total = round(
                profile.daily_outflow * _flow_factor(day, direction) * rng.uniform(0.6, 1.4)
            )
            groups = sorted({self._group(rng, fmp) for _ in range(_int(rng, 4, 10))})
            counts = _split(total, [rng.random() + 0.05 for _ in groups])
            for group, count in zip(groups, counts, strict=True):
                rows.append([day.isoformat(), fmp, direction, *group, str(count), observer, hours])
        return rows

    def _group(self, rng: random.Random, fmp: str) -> tuple[str, str, str, str]:
        r = rng.random()
        nationality = "LAO" if r < 0.9 else (self.neighbour[fmp] or "THA") if r < 0.98 else "KHM"
        return (self.sex.pick(rng), self.age.pick(rng), nationality, self.transport[fmp].pick(rng))


def _flow_factor(day: date, direction: str) -> float:
    weekend = 1.15 if day.weekday() >= 5 else 1.0
    if direction == "outflow":
        return weekend * (1.2 if day.month == 2 else 1.0)
    pi_mai = date(2026, 4, 10) <= day <= date(2026, 4, 20)
    return weekend * (1.6 if pi_mai else 0.45)


def _split(total: int, weights: list[float]) -> list[int]:
    scale = sum(weights)
    counts = [int(total * w / scale) for w in weights]
    counts[weights.index(max(weights))] += total - sum(counts)
    return counts


def _month_days(month: int) -> list[date]:
    first = date(2026, month, 1)
    following = date(2026, month + 1, 1)
    return [first + timedelta(days=k) for k in range((following - first).days)]


@dataclass
class _FmrResult:
    files: list[FileRecord]
    flows: list[FmrFlow]


def _write_fmr(folder: Path, form: Form, seed: int) -> _FmrResult:
    generator = _FmrGenerator(form, seed)
    totals: dict[tuple[str, str], dict[str, int]] = {}  # (date, fmp) -> direction -> people
    files: list[FileRecord] = []
    for month in range(1, 7):
        rows: list[list[str]] = []
        bad_rows: list[BadRow] = []
        planted = {
            (d, f): (kind, col, value) for m, d, f, kind, col, value in _FMR_BAD if m == month
        }
        for day in _month_days(month):
            for fmp in generator.fmps:
                if not generator.observed(day, fmp):
                    continue
                sheet = generator.sheet(day, fmp, ("outflow", "inflow"))
                rows += sheet
                totals[(day.isoformat(), fmp)] = _sheet_totals(sheet)
                bad = planted.pop((day.isoformat(), fmp), None)
                if bad:
                    kind, column, value = bad
                    rows.append(_with_value(sheet[0], column, value))
                    bad_rows.append(
                        {"row": len(rows), "column": column, "kind": kind, "value": value}
                    )
        if planted:
            raise ValueError(f"bad FMR rows planted on days that are not observed: {planted}")
        arrives = _lt(2026, month + 1, 3, 9) if month < 6 else _lt(2026, 7, 3, 9)
        files.append(_write_fmr_file(folder / f"fmr_2026-{month:02d}.csv", rows, bad_rows, arrives))
    corrected: list[list[str]] = []
    for day_text, fmp, directions in _FMR_CORRECTIONS:
        sheet = generator.sheet(date.fromisoformat(day_text), fmp, directions, corrected=True)
        corrected += sheet
        totals[(day_text, fmp)] = _sheet_totals(sheet)  # replaces the earlier sheet entirely
    files.append(
        _write_fmr_file(folder / _FMR_CORRECTIONS_FILE, corrected, [], _FMR_CORRECTIONS_ARRIVE)
    )
    flows: list[FmrFlow] = [
        {"date": d, "fmp_code": fmp, "direction": direction, "individuals": people}
        for (d, fmp), by_direction in sorted(totals.items())
        for direction, people in sorted(by_direction.items(), key=lambda item: item[0] != "outflow")
    ]
    return _FmrResult(files, flows)


def _sheet_totals(sheet: list[list[str]]) -> dict[str, int]:
    by_direction: dict[str, int] = {}
    for row in sheet:
        by_direction[row[2]] = by_direction.get(row[2], 0) + int(row[7])
    return by_direction


def _with_value(template: list[str], column: str, value: str) -> list[str]:
    row = list(template)
    row[FMR_HEADER.index(column)] = value
    return row


def _write_fmr_file(
    path: Path, rows: list[list[str]], bad_rows: list[BadRow], arrives: int
) -> FileRecord:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FMR_HEADER)
        writer.writerows(rows)
    os.utime(path, (arrives, arrives))
    record: FileRecord = {
        "source": "fmr",
        "name": path.name,
        "format": "csv",
        "rows": len(rows),
        "bad_rows": bad_rows,
        "mtime": arrives,
        "arrival": 0,
        "delimiter": ",",
        "bom": False,
    }
    if path.name == _FMR_CORRECTIONS_FILE:
        record["description"] = (
            "corrected tally sheets re-sent after the March file: each (date, fmp) here "
            "replaces the earlier rows of that pair entirely"
        )
    return record
