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

import bisect
import csv
import json
import os
import random
import re
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, TypeVar

import openpyxl
import yaml

from flows.form.xlsform import META_COLUMNS, Form, default_form
from flows.ingest.landing import SOURCES

_T = TypeVar("_T")

MANIFEST_NAME = "sample_manifest.json"
STORIES_DIR = Path(str(resources.files("flows.sample") / "stories"))
MIN_SURVEYS = 50

ROW_NUMBER_CONVENTION = (
    "bad_rows[].row is the 1-based position of the row among the file's data rows: the header "
    "is not counted, so in CSV row n is physical line n + 1 (no value contains a line break), "
    "in XLSX it is sheet row n + 1, and in JSON it is results[n - 1]."
)

# --------------------------------------------------------------------------- time

LAO_TZ = timezone(timedelta(hours=7))
_LAO_OFFSET = 7 * 3600
_DAY = 86400


def _lt(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Epoch seconds of a Lao local time."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=LAO_TZ).timestamp())


DATA_START = _lt(2026, 1, 1, 8)  # first submission
DATA_END = _lt(2026, 7, 1)  # submissions stop before this
_MONTH_STARTS = (DATA_START, *(_lt(2026, m, 1) for m in range(2, 7)), DATA_END)
_MONTH_WEIGHTS = (0.9, 1.25, 1.0, 0.85, 1.05, 0.95)  # Feb: after Chinese New Year
_INFLOW_SHARE = (0.25, 0.2, 0.25, 0.5, 0.3, 0.3)  # April: returning for Pi Mai

_DAY_STRINGS: dict[int, str] = {}


def _day_string(days: int) -> str:
    text = _DAY_STRINGS.get(days)
    if text is None:
        text = _DAY_STRINGS[days] = (date(1970, 1, 1) + timedelta(days=days)).isoformat()
    return text


_CLOCK_STRINGS: dict[int, str] = {}  # at most 86,400 entries


def _clock(seconds: int) -> str:
    text = _CLOCK_STRINGS.get(seconds)
    if text is None:
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        text = _CLOCK_STRINGS[seconds] = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return text


def _local_iso_ms(t: int, ms: int) -> str:
    days, seconds = divmod(t + _LAO_OFFSET, _DAY)
    return f"{_day_string(days)}T{_clock(seconds)}.{ms:03d}+07:00"


def _local_date(t: int) -> str:
    return _day_string((t + _LAO_OFFSET) // _DAY)


def _utc_iso(t: int) -> str:
    days, seconds = divmod(t, _DAY)
    return f"{_day_string(days)}T{_clock(seconds)}"


def _local_month_index(t: int) -> int:
    """0 for January 2026 ... 5 for June 2026 (the first morning counts as January)."""
    return min(5, max(0, bisect.bisect_right(_MONTH_STARTS, t) - 1))


class _Timeline:
    """Maps a position in [0, 1) to a submission time, denser in busier months."""

    def __init__(self) -> None:
        masses = [
            w * (end - start)
            for w, start, end in zip(_MONTH_WEIGHTS, _MONTH_STARTS, _MONTH_STARTS[1:], strict=False)
        ]
        total = sum(masses)
        self._cum = [0.0]
        for mass in masses:
            self._cum.append(self._cum[-1] + mass / total)

    def time_at(self, x: float) -> int:
        month = min(bisect.bisect_right(self._cum, x) - 1, len(_MONTH_WEIGHTS) - 1)
        share = (x - self._cum[month]) / (self._cum[month + 1] - self._cum[month])
        start, end = _MONTH_STARTS[month], _MONTH_STARTS[month + 1]
        return start + int(share * (end - start))

    def position_of(self, t: int) -> float:
        month = _local_month_index(t)
        start, end = _MONTH_STARTS[month], _MONTH_STARTS[month + 1]
        share = (t - start) / (end - start)
        return self._cum[month] + share * (self._cum[month + 1] - self._cum[month])


def _interview_end(rng: random.Random, submitted: int) -> int:
    """Interviews happen in the day; phones upload at once, or overnight when offline."""
    local = submitted + _LAO_OFFSET
    hour = (local % _DAY) // 3600
    if 8 <= hour < 20:
        return submitted - _int(rng, 120, 2400)
    day_start = local - local % _DAY - (0 if hour >= 20 else _DAY)
    return day_start + _int(rng, 9 * 3600, 17 * 3600 + 1800) - _LAO_OFFSET


# --------------------------------------------------------------------------- Kobo details

APPROVED = "validation_status_approved"
NOT_APPROVED = "validation_status_not_approved"
ON_HOLD = "validation_status_on_hold"
_STATUS_LABELS = {
    APPROVED: ("Approved", "#00ff00"),
    NOT_APPROVED: ("Not approved", "#ff0000"),
    ON_HOLD: ("On hold", "#0000ff"),
}
# Kobo's system columns in the order its exports write them.
KOBO_SYSTEM_COLUMNS = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
)
# Kobo asset version ids: the deployed form changed on NEW_VERSION_FROM, adding a question.
FORM_VERSIONS = ("vT8rQmZ4kXc2LpN6sWd3Hy", "vB5nHs9YqE2tGm7KxR4jLa")
NEW_VERSION_FROM = _lt(2026, 6, 5)
NEW_VERSION_COLUMN = "work/remittance_channel"
_NEW_VERSION_KEY = "remittance_channel"
_KOBO_ID_BASE = 412_000_000

# --------------------------------------------------------------------------- realism tables
# Codes below are checked against the form's choice lists when a generator is built.


@dataclass(frozen=True)
class _FmpProfile:
    prefix: str  # enumerator and observer ids
    weight: float  # share of survey interviews
    lat: float
    lon: float
    alt: float
    enumerators: int
    origin: Mapping[str, float]  # adm1 of usual residence
    transport: Mapping[str, float]
    daily_outflow: int  # registry: people counted leaving on an observed day
    weekdays: tuple[int, ...]  # registry: observed days, Monday = 0
    hours: float  # registry: hours observed per day


_EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
_MON_SAT = (0, 1, 2, 3, 4, 5)
_NORTH_ORIGINS = {"LA-LM": 30, "LA-OU": 24, "LA-LP": 14, "LA-PH": 11, "LA-BK": 7, "LA-HO": 5}
_FMP_PROFILES: dict[str, _FmpProfile] = {
    "LAO_FMP_001": _FmpProfile(
        "BTR", 30, 21.1826, 101.6731, 563, 6,
        {**_NORTH_ORIGINS, "LA-XA": 4, "LA-VT": 3, "LA-VI": 2},
        {"bus": 35, "minivan": 25, "truck": 15, "car": 15, "motorbike": 10},
        220, _EVERY_DAY, 11.0,
    ),
    "LAO_FMP_002": _FmpProfile(
        "BTS", 22, 21.1705, 101.6804, 580, 5,
        {**_NORTH_ORIGINS, "LA-LM": 16, "LA-VT": 14, "LA-VI": 10, "LA-XA": 6, "LA-XI": 4},
        {"train": 100},
        160, _EVERY_DAY, 9.0,
    ),
    "LAO_FMP_003": _FmpProfile(
        "PHI", 5, 21.2927, 101.1462, 640, 3,
        {"LA-LM": 70, "LA-BK": 12, "LA-OU": 12, "LA-LP": 6},
        {"motorbike": 30, "truck": 25, "minivan": 20, "car": 15, "on_foot": 10},
        35, _MON_SAT, 8.0,
    ),
    "LAO_FMP_004": _FmpProfile(
        "LTI", 4, 21.6839, 101.9650, 905, 3,
        {"LA-PH": 82, "LA-OU": 12, "LA-LM": 6},
        {"motorbike": 35, "truck": 25, "minivan": 25, "on_foot": 15},
        20, _MON_SAT, 8.0,
    ),
    "LAO_FMP_005": _FmpProfile(
        "FB1", 16, 17.8795, 102.7160, 170, 6,
        {"LA-VT": 24, "LA-VI": 18, "LA-BL": 9, "LA-XA": 8, "LA-LP": 8, "LA-KH": 7, "LA-XI": 6,
         "LA-HO": 5, "LA-XS": 5, "LA-SV": 5, "LA-OU": 3, "LA-CH": 2},
        {"bus": 45, "minivan": 25, "car": 20, "motorbike": 5, "on_foot": 5},
        260, _EVERY_DAY, 12.0,
    ),
    "LAO_FMP_006": _FmpProfile(
        "VBS", 8, 17.9661, 102.6122, 172, 4,
        {"LA-VT": 10, "LA-VI": 12, "LA-LP": 10, "LA-XI": 8, "LA-HO": 8, "LA-XA": 8, "LA-BL": 8,
         "LA-KH": 8, "LA-SV": 8, "LA-OU": 6, "LA-XS": 4, "LA-SL": 4, "LA-CH": 4, "LA-PH": 2},
        {"bus": 85, "minivan": 15},
        90, _EVERY_DAY, 10.0,
    ),
    "LAO_FMP_007": _FmpProfile(
        "FB4", 7, 20.2433, 100.4472, 370, 4,
        {"LA-BK": 40, "LA-LP": 16, "LA-LM": 14, "LA-OU": 14, "LA-XA": 12, "LA-PH": 4},
        {"bus": 40, "minivan": 25, "car": 20, "motorbike": 15},
        80, _MON_SAT, 10.0,
    ),
    "LAO_FMP_008": _FmpProfile(
        "DSV", 8, 16.6253, 106.5960, 460, 4,
        {"LA-SV": 58, "LA-SL": 14, "LA-KH": 10, "LA-XE": 6, "LA-CH": 6, "LA-AT": 6},
        {"bus": 35, "truck": 25, "minivan": 25, "car": 15},
        70, _MON_SAT, 10.0,
    ),
}  # fmt: skip

_NORTH = frozenset({"LA-PH", "LA-LM", "LA-OU", "LA-BK", "LA-LP", "LA-HO", "LA-XA", "LA-XI"})
_NEIGHBOUR_SHARE = 0.88  # destination = the crossing's neighbouring country
_OTHER_DESTINATIONS = {
    "THA": 35, "CHN": 15, "MYS": 12, "KOR": 12, "VNM": 6, "JPN": 6, "SGP": 4, "KHM": 4,
    "MMR": 2, "other": 4,
}  # fmt: skip
_DEST_AREA_WEIGHTS = {"CN-YN": 8, "CN-GD": 2, "TH-10": 6, "TH-11": 2, "TH-20": 2, "TH-57": 2}
_ADM2_WEIGHTS = {"LA0301": 5, "LA0302": 3, "LA0201": 3}
_FEMALE_SHARE = {"THA": 0.5, "CHN": 0.36, "VNM": 0.3, "MYS": 0.45, "KOR": 0.22, "SGP": 0.55}
_ETHNICITY = {
    "north": {"lao": 30, "khmu": 25, "hmong": 15, "akha": 10, "tai_lue": 8, "phunoi": 6,
              "yao": 4, "other": 2},
    "south": {"lao": 82, "khmu": 4, "hmong": 5, "other": 9},
}  # fmt: skip
_EDUCATION = {
    "none": 12, "primary": 35, "lower_secondary": 28, "upper_secondary": 15, "vocational": 6,
    "tertiary": 4,
}  # fmt: skip
_REASON = {
    "economic": 74, "seasonal_work": 10, "family": 8, "education": 2, "health": 2,
    "disaster": 1, "conflict_violence": 0.5, "other": 2.5,
}  # fmt: skip
_TRAVEL_WITH = {"alone": 40, "with_group": 35, "with_family": 25}
_EMPLOYMENT = {
    "self_employed": 35, "employed": 25, "unemployed_looking": 25, "student": 7, "homemaker": 5,
    "unemployed_not_looking": 2, "retired": 1,
}  # fmt: skip
_SECTOR_BEFORE = {
    "north": {"agriculture": 40, "rubber": 18, "construction": 8, "trade": 6, "transport": 3,
              "manufacturing": 3, "hospitality": 2, "other": 5},
    "south": {"agriculture": 38, "construction": 12, "trade": 12, "manufacturing": 9,
              "hospitality": 7, "transport": 5, "fishing": 4, "other": 8},
}  # fmt: skip
_SECTOR_DESTINATION = {
    "CHN": {"agriculture": 35, "rubber": 15, "construction": 20, "manufacturing": 15,
            "trade": 5, "hospitality": 5, "other": 5},
    "THA": {"manufacturing": 25, "construction": 20, "agriculture": 15, "domestic_work": 12,
            "hospitality": 12, "entertainment": 5, "trade": 4, "fishing": 3, "other": 4},
    "VNM": {"construction": 30, "trade": 30, "agriculture": 20, "transport": 20},
    "MYS": {"manufacturing": 40, "hospitality": 20, "construction": 20, "domestic_work": 20},
    "KOR": {"agriculture": 50, "manufacturing": 40, "fishing": 10},
    "": {"manufacturing": 35, "hospitality": 25, "agriculture": 20, "other": 20},
}  # fmt: skip
_CHANNEL = {
    "CHN": {"friends_family": 35, "self_arranged": 25, "informal_broker": 20,
            "licensed_agency": 15, "employer_direct": 5},
    "THA": {"friends_family": 35, "informal_broker": 25, "government_mou": 15,
            "self_arranged": 10, "licensed_agency": 10, "employer_direct": 5},
    "KOR": {"government_mou": 90, "licensed_agency": 10},
    "": {"licensed_agency": 40, "friends_family": 30, "informal_broker": 20, "self_arranged": 10},
}  # fmt: skip
_FORMAL_CHANNELS = frozenset({"licensed_agency", "government_mou", "employer_direct"})
_CONTRACT = {
    "formal": {"yes": 80, "no": 12, "dont_know": 8},
    "informal": {"yes": 15, "no": 70, "dont_know": 15},
}
_CURRENCY_OF = {"CHN": "CNY", "THA": "THB", "VNM": "VND", "MYS": "MYR", "KOR": "KRW"}
_INCOME_RANGE = {  # currency: (low, high, unit); the amount is randint(low, high) * unit
    "CNY": (25, 60, 100), "THB": (14, 32, 500), "VND": (10, 24, 500_000), "MYR": (26, 52, 50),
    "KRW": (38, 52, 50_000), "USD": (6, 24, 50), "LAK": (25, 120, 100_000),
}  # fmt: skip
_JOURNEY_COST = {"CHN": (30, 250), "THA": (50, 500), "VNM": (30, 200), "MYS": (300, 1500),
                 "KOR": (1000, 3500), "": (100, 1200)}  # fmt: skip  # x 10,000 LAK
_FUNDING = {"savings": 0.55, "family_friends": 0.3, "loan": 0.18, "employer": 0.08,
            "agency": 0.05, "other": 0.02}  # fmt: skip
_DOCUMENTS = {
    "CHN": {"border_pass": 0.55, "passport": 0.4, "work_permit": 0.15, "national_id": 0.6},
    "THA": {"passport": 0.6, "border_pass": 0.3, "work_permit": 0.3, "national_id": 0.5,
            "visa": 0.05},
    "VNM": {"border_pass": 0.5, "passport": 0.4, "national_id": 0.6},
    "": {"passport": 0.9, "visa": 0.6, "work_permit": 0.5, "national_id": 0.4},
}  # fmt: skip
_RISKS = {"wages_withheld": 0.12, "forced_overtime": 0.14, "documents_withheld": 0.07,
          "debt_pressure": 0.06, "confinement": 0.03}  # fmt: skip
_STAY = {"lt_3m": 15, "3_6m": 20, "6_12m": 25, "1_2y": 20, "gt_2y": 10, "unknown": 10}
_PREVIOUS = {"0": 45, "1": 20, "2": 13, "3": 8, "4": 5, "5": 4, "6": 2, "8": 2, "10": 1}
_REMIT = {"yes": 80, "no": 10, "dont_know": 10}
_REMITTANCE_CHANNELS = {"mobile_money": 30, "bank_transfer": 30, "informal_agent": 20,
                        "cash_carried": 20}  # fmt: skip

# Direct identifiers. First names only ("First name (optional)"), romanised or in Lao script;
# none is part of a place name or of another name, so a privacy scan can look for them.
_NAMES = (
    "Bounmy", "Souksavanh", "Khamla", "Phonsavanh", "Vilayvanh", "Chanthala", "Sengphet",
    "Latsamy", "Manivanh", "Somphone", "Thongdy", "Bouasone", "Sisouk", "Phoutthasone",
    "Ketsana", "Nouthong", "Vongdeuan", "Inpeng", "Saengdao", "Onnaly", "Kongkeo", "Somsack",
    "Bounthanh", "Khamphet", "Viengkham", "Outhai", "Soulivanh", "Phetsamone", "Malaythong",
    "Chansamone", "Thipphavanh", "Khonesavanh", "Souphaphone", "Bounleuth", "Sivilay",
    "Anousone", "Xaysana", "Daovone", "Amphone", "Khamsone", "Vatsana", "Phouvong", "Oudomphone",
    "Yeng", "Chue", "Neng", "Khamtanh", "Bounchanh", "Sommay", "Vanhsy",
    "ສົມພອນ", "ບຸນມີ", "ຄຳລາ", "ສຸກສະຫວັນ", "ມະນີວັນ", "ພອນສະຫວັນ", "ຈັນທະລາ", "ທອງດີ",
    "ບົວສອນ", "ສີສຸກ", "ລັດສະໝີ", "ວຽງຄຳ",
)  # fmt: skip
_VILLAGES = (
    "Ban Nongboua", "Ban Phonxay", "Ban Houaysai", "Ban Namdeng", "Ban Nakham", "Ban Donkeo",
    "Ban Phiengdi", "Ban Sopsim", "Ban Pakha", "Ban Thongmisay", "Ban Houaynam",
    "Ban Phonsavang", "Ban Nadi", "Ban Kiewkan", "Ban Houayhok", "Ban Namkeung",
    "Ban Phouvieng", "Ban Nongping", "Ban Donxay", "Ban Vangmon", "Ban Hatnyao", "Ban Xiengda",
    "Ban Phakeo", "Ban Sompoy", "Ban Houaykhoua", "Ban Natan", "Ban Chomthong",
    "ບ້ານນາດີ", "ບ້ານໂພນໄຊ", "ບ້ານດອນແກ້ວ", "ບ້ານນ້ຳແດງ",
)  # fmt: skip
_NOTES = (
    "Age checked against ID card",
    "Respondent was not sure of the district; province only",
    "Interview cut short when the bus left",
    "Enumerator confirmed answers by phone",
)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class _Weighted:
    """Weighted choice among codes: one random number and one bisect per draw."""

    __slots__ = ("values", "_cum", "_total")

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.values = tuple(weights)
        cum: list[float] = []
        total = 0.0
        for weight in weights.values():
            total += weight
            cum.append(total)
        cum[-1] = float("inf")  # rounding can never step past the last value
        self._cum = cum
        self._total = total

    def pick(self, rng: random.Random) -> str:
        return self.values[bisect.bisect_right(self._cum, rng.random() * self._total)]


class _Multi:
    """A select_multiple answer: each option independently; written in choice-list order."""

    __slots__ = ("_options", "_fallback")

    def __init__(
        self, order: Iterable[str], probabilities: Mapping[str, float], fallback: str
    ) -> None:
        self._options = tuple(
            (code, probabilities[code]) for code in order if code in probabilities
        )
        self._fallback = fallback

    def draw(self, rng: random.Random) -> str:
        chosen = [code for code, p in self._options if rng.random() < p]
        return " ".join(chosen) if chosen else self._fallback


def _int(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high] from one random(): the random module's randint,
    randrange and choice run Python code per call and dominated the generator's time."""
    return low + int(rng.random() * (high - low + 1))


def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _one(rng: random.Random, options: Sequence[_T]) -> _T:
    return options[int(rng.random() * len(options))]


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


# --------------------------------------------------------------------------- form relevance

_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\$\{\w+\})|(?P<string>'[^']*')|(?P<op>!=|=)|(?P<word>and|or|not)\b"
    r"|(?P<call>selected\()|(?P<punct>[(),]))"
)


def _selected(value: str, option: str) -> bool:
    return option in value.split()


def _translate_relevance(expression: str) -> str:
    """XLSForm relevance (the subset this form uses) as a Python expression over `v`."""
    out: list[str] = []
    text = expression.strip()
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise ValueError(f"unsupported relevance expression in the form: {expression!r}")
        pos = match.end()
        kind, token = match.lastgroup, match[match.lastgroup]
        if kind == "ref":
            out.append(f"v.get({token[2:-1]!r}, '')")
        elif kind == "op":
            out.append("==" if token == "=" else "!=")
        elif kind == "call":
            out.append("_selected(")
        else:
            out.append(token)
    return " ".join(out)


def _compile_relevance(expressions: tuple[str, ...]) -> Callable[[Mapping[str, str]], bool]:
    source = " and ".join(f"({_translate_relevance(e)})" for e in expressions)
    function: Callable[[Mapping[str, str]], bool] = eval(  # tokens checked above
        f"lambda v: {source}", {"__builtins__": {}, "_selected": _selected}
    )
    return function


def _answer_keys(form: Form) -> list[str]:
    """Every answer a submission can hold: the form's fields and the newer version's question."""
    return [f.name for f in form.fields] + [_NEW_VERSION_KEY]


def _relevance_groups(form: Form) -> list[tuple[Callable[[Mapping[str, str]], bool], list[str]]]:
    """Fields grouped by their relevance, in form order of each group's first field.

    Every field a condition refers to comes earlier in the form, so applying the groups in
    this order leaves each condition reading answers that are already final.
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for f in form.fields:
        if f.relevant:
            groups.setdefault(f.relevant, []).append(f.name)
    return [(_compile_relevance(condition), names) for condition, names in groups.items()]


# --------------------------------------------------------------------------- submissions


@dataclass(slots=True)
class _Version:
    answers: dict[str, str]  # every answer key (_answer_keys) -> value; "" = unanswered
    uuid: str
    deprecated_uuid: str
    since: int  # submission or edit time
    statuses: list[tuple[int, str]]  # (effective from, validation status code or "")
    notes: tuple[str, ...]
    tags: tuple[str, ...]
    row: list[str] | None = None  # the export row, built when first written
    plain: bool = True  # no value in the row needs CSV quoting

    def status_at(self, t: int) -> tuple[int, str]:
        current = self.statuses[0]
        for entry in self.statuses[1:]:
            if entry[0] <= t:
                current = entry
        return current


@dataclass(slots=True)
class _Submission:
    kobo_id: int
    submitted_at: int
    office: str  # adm1 of the FMP: the field office that owns it
    submitted_by: str
    supervisor: str
    form_version: str
    versions: list[_Version]
    role: str
    bad: tuple[str, str, str] | None = None  # (kind, column, value written)

    def version_at(self, t: int) -> _Version:
        current = self.versions[0]
        for version in self.versions[1:]:
            if version.since <= t:
                current = version
        return current


@dataclass(frozen=True)
class _Role:
    """A submission placed on purpose: edits, a status change, or a bad value."""

    name: str
    at: int  # target submission time; the submission nearest to it takes the role
    fmp: str | None = None
    origin_adm1: str | None = None
    edits: tuple[tuple[int, str], ...] = ()  # (edit time, what changes)
    status_change: tuple[int, str] | None = None
    bad: tuple[str, str, str] | None = None  # (kind, field name or "_uuid", value)


def _bad_role(
    at: int, kind: str, name: str, value: str, fmp: str | None = None, origin: str | None = None
) -> _Role:
    return _Role("bad", at, fmp=fmp, origin_adm1=origin, bad=(kind, name, value))


_ROLES: tuple[_Role, ...] = (
    # Originals only in the late Luang Namtha export: their edits arrive months earlier.
    _Role(
        "edit_original_delivered_late",
        _lt(2026, 1, 20, 10),
        fmp="LAO_FMP_001",
        edits=((_lt(2026, 3, 10, 14), "origin"),),
    ),
    _Role(
        "edit_original_delivered_late",
        _lt(2026, 2, 9, 10),
        fmp="LAO_FMP_002",
        edits=((_lt(2026, 3, 12, 9), "sex"),),
    ),
    _Role("edit", _lt(2026, 2, 20, 10), edits=((_lt(2026, 4, 15, 11), "dest"),)),
    # One version in each of the March, April and May exports.
    _Role(
        "edit_chain",
        _lt(2026, 3, 5, 10),
        edits=((_lt(2026, 4, 10, 15), "origin"), (_lt(2026, 5, 25, 10), "sex")),
    ),
    # The Vientiane XLSX export holds the original, the May export the edit.
    _Role("edit", _lt(2026, 5, 3, 10), fmp="LAO_FMP_005", edits=((_lt(2026, 5, 28, 16), "age"),)),
    # Approved in the March export, rejected from the April export on.
    _Role(
        "status_change", _lt(2026, 3, 12, 10), status_change=(_lt(2026, 4, 20, 10), NOT_APPROVED)
    ),
    _bad_role(_lt(2026, 1, 12, 10), "not_an_integer", "age", "twenty", fmp="LAO_FMP_001"),
    _bad_role(_lt(2026, 1, 25, 10), "missing_uuid", "_uuid", ""),
    _bad_role(_lt(2026, 2, 3, 10), "not_in_choices", "reason", "work", fmp="LAO_FMP_005"),
    _bad_role(_lt(2026, 2, 8, 10), "constraint_violated", "children", "20", fmp="LAO_FMP_002"),
    _bad_role(
        _lt(2026, 2, 12, 10),
        "choice_filter_violated",
        "origin_adm2",
        "LA0204",
        fmp="LAO_FMP_001",
        origin="LA-LM",
    ),
    _bad_role(_lt(2026, 3, 20, 10), "constraint_violated", "age", "9"),
    _bad_role(_lt(2026, 4, 8, 10), "required_missing", "sex", ""),
    _bad_role(
        _lt(2026, 5, 5, 10),
        "choice_filter_violated",
        "origin_adm2",
        "LA0301",
        fmp="LAO_FMP_004",
        origin="LA-PH",
    ),
    _bad_role(_lt(2026, 5, 10, 10), "not_an_integer", "age", "25.5", fmp="LAO_FMP_006"),
    _bad_role(_lt(2026, 6, 10, 10), "missing_uuid", "_uuid", "", fmp="LAO_FMP_008"),
    _bad_role(_lt(2026, 6, 12, 10), "not_in_choices", "sector_destination", "factory"),
    _bad_role(_lt(2026, 6, 14, 10), "constraint_violated", "age", "95", fmp="LAO_FMP_007"),
    _bad_role(_lt(2026, 6, 22, 10), "required_missing", "reason", ""),
)

_RANDOM_EDIT_SHARE = 0.01
_REFUSAL_SHARE = 0.06
_EDIT_CHANGES = ("origin", "sex", "dest", "age")


def _assign_roles(surveys: int, timeline: _Timeline) -> dict[int, _Role]:
    """Each role goes to the submission nearest its target time (the next free one on a tie)."""
    roles: dict[int, _Role] = {}
    for role in sorted(_ROLES, key=lambda r: r.at):
        i = min(surveys - 1, int(timeline.position_of(role.at) * surveys))
        while i in roles:
            i = (i + 1) % surveys
        roles[i] = role
    return roles


class _SurveyGenerator:
    """Draws submission i of the sample from its own random stream."""

    def __init__(self, form: Form, surveys: int, seed: int, last_export: int) -> None:
        self.form = form
        self.surveys = surveys
        self.seed = seed
        self.last_export = last_export  # every edit and status change happens before it
        self.timeline = _Timeline()
        self.roles = _assign_roles(surveys, timeline=self.timeline)
        self.relevance = _relevance_groups(form)
        self.blank = dict.fromkeys(_answer_keys(form), "")
        self.path_of = {f.name: f.path for f in form.fields}
        self.fmp_neighbour = {
            c.name: c.attributes.get("neighbour", "") for c in form.choices["fmp"]
        }
        self.fmp_office = {c.name: c.attributes["adm1"] for c in form.choices["fmp"]}
        missing = set(self.fmp_neighbour) ^ set(_FMP_PROFILES)
        if missing:
            raise ValueError(f"FMP codes of the form and sample profiles differ: {sorted(missing)}")
        self._build_tables()
        self._build_enumerators()

    # tables -----------------------------------------------------------------

    def _check(self, list_name: str, codes: Iterable[str]) -> None:
        unknown = set(codes) - set(self.form.choice_names(list_name))
        if unknown:
            raise ValueError(f"sample codes not in the form's {list_name!r} list: {unknown}")

    def _table(self, list_name: str, weights: Mapping[str, float]) -> _Weighted:
        self._check(list_name, weights)
        return _Weighted(weights)

    def _multi(self, list_name: str, probabilities: Mapping[str, float], fallback: str) -> _Multi:
        self._check(list_name, [*probabilities, fallback])
        return _Multi(self.form.choice_names(list_name), probabilities, fallback)

    def _build_tables(self) -> None:
        t = self._table
        self.fmp = t("fmp", {code: p.weight for code, p in _FMP_PROFILES.items()})
        self.origin = {code: t("adm1", p.origin) for code, p in _FMP_PROFILES.items()}
        self.transport = {code: t("transport", p.transport) for code, p in _FMP_PROFILES.items()}
        self.transport_order = self.form.choice_names("transport")
        self.destination_others = t("country", _OTHER_DESTINATIONS)
        self.adm2 = self._filtered("adm2", "adm1", _ADM2_WEIGHTS)
        self.dest_area = self._filtered("dest_area", "country", _DEST_AREA_WEIGHTS)
        self.ethnicity = {region: t("ethnicity", w) for region, w in _ETHNICITY.items()}
        self.education = t("education", _EDUCATION)
        self.reason = t("reason", _REASON)
        self.travel_with = t("travel_with", _TRAVEL_WITH)
        self.employment = t("employment", _EMPLOYMENT)
        self.sector_before = {region: t("sector", w) for region, w in _SECTOR_BEFORE.items()}
        self.sector_destination = {c: t("sector", w) for c, w in _SECTOR_DESTINATION.items()}
        self.channel = {c: t("channel", w) for c, w in _CHANNEL.items()}
        self.contract = {kind: t("yes_no_dk", w) for kind, w in _CONTRACT.items()}
        self.stay = t("stay", _STAY)
        self.remit = t("yes_no_dk", _REMIT)
        self.previous = _Weighted(_PREVIOUS)
        self.remittance_channel = _Weighted(_REMITTANCE_CHANNELS)
        self.funding = self._multi("funding", _FUNDING, "savings")
        self.documents = {c: self._multi("documents", p, "none") for c, p in _DOCUMENTS.items()}
        self.risks = self._multi("risks", _RISKS, "none")
        by_country = (_FEMALE_SHARE, _CURRENCY_OF, _JOURNEY_COST, _DOCUMENTS, _SECTOR_DESTINATION)
        self._check("country", [c for table in (*by_country, _CHANNEL) for c in table if c])
        self._check("currency", [*_INCOME_RANGE, *_CURRENCY_OF.values()])

    def _filtered(
        self, list_name: str, attribute: str, weights: Mapping[str, float]
    ) -> dict[str, _Weighted]:
        """Choices of a filtered list (choice_filter), grouped by the attribute they filter on."""
        grouped: dict[str, dict[str, float]] = {}
        for choice in self.form.choices[list_name]:
            key = choice.attributes[attribute]
            grouped.setdefault(key, {})[choice.name] = weights.get(choice.name, 1.0)
        return {key: _Weighted(w) for key, w in grouped.items()}

    def _build_enumerators(self) -> None:
        self.enumerators: dict[str, tuple[tuple[str, str], ...]] = {}
        for code, profile in _FMP_PROFILES.items():
            team = []
            for k in range(1, profile.enumerators + 1):
                enumerator = f"{profile.prefix}-{k:02d}"
                device_rng = random.Random(f"{self.seed}:device:{enumerator}")
                device = "collect:" + "".join(device_rng.choice(_ALNUM) for _ in range(16))
                team.append((enumerator, device))
            self.enumerators[code] = tuple(team)

    # one submission -----------------------------------------------------------

    def submission(self, i: int) -> _Submission:
        rng = random.Random((self.seed << 32) | i)
        role = self.roles.get(i)
        submitted = self.timeline.time_at((i + rng.random()) / self.surveys)
        answers = self._draw_answers(rng, _interview_end(rng, submitted), role)
        self._apply_relevance(answers)
        new_version = submitted >= NEW_VERSION_FROM
        if new_version and answers["plans_remit"] == "yes":
            answers[_NEW_VERSION_KEY] = self.remittance_channel.pick(rng)
        fmp = answers["fmp"]
        office = self.fmp_office[fmp]
        edits = self._edits_for(rng, role, answers, submitted)
        first = _Version(
            answers=answers,
            uuid=_uuid4(rng),
            deprecated_uuid="",
            since=submitted,
            statuses=[(submitted, self._first_status(rng, role, submitted))],
            notes=(_one(rng, _NOTES),) if rng.random() < 0.02 else (),
            tags=("checked",) if rng.random() < 0.05 else (),
        )
        sub = _Submission(
            kobo_id=_KOBO_ID_BASE + 3 * i + _below(rng, 3),
            submitted_at=submitted,
            office=office,
            submitted_by=f"iom_{office[3:].lower()}_fo",
            supervisor=f"iom_{office[3:].lower()}_supervisor",
            form_version=FORM_VERSIONS[new_version],
            versions=[first],
            role=role.name if role else ("edit" if edits else ""),
        )
        for edit_time, change in edits:
            sub.versions.append(self._edited(rng, sub.versions[-1], edit_time, change))
        if role and role.status_change:
            sub.versions[-1].statuses.append(role.status_change)
        if role and role.bad:
            sub.bad = self._plant(role.bad, answers)
        return sub

    def _first_status(self, rng: random.Random, role: _Role | None, t: int) -> str:
        """An edited version is later put on hold (see _edited); planted roles start approved."""
        if role:
            return APPROVED
        month = _local_month_index(t)
        unvalidated = (0.05, 0.05, 0.05, 0.06, 0.12, 0.35)[month]
        r = rng.random()
        if r < 0.04:
            return NOT_APPROVED
        if r < 0.08:
            return ON_HOLD
        if r < 0.08 + unvalidated:
            return ""
        return APPROVED

    def _edits_for(
        self, rng: random.Random, role: _Role | None, answers: Mapping[str, str], submitted: int
    ) -> tuple[tuple[int, str], ...]:
        if role:
            return role.edits
        if answers["consent"] != "yes" or rng.random() >= _RANDOM_EDIT_SHARE:
            return ()
        edit_time = submitted + _int(rng, _DAY // 2, 20 * _DAY)
        if edit_time >= self.last_export - 3600:
            return ()
        return ((edit_time, _one(rng, _EDIT_CHANGES)),)

    def _edited(self, rng: random.Random, previous: _Version, t: int, change: str) -> _Version:
        answers = dict(previous.answers)
        if change == "origin":
            current = answers["origin_adm1"]
            table = self.origin[answers["fmp"]]
            new = current
            while new == current:
                new = table.pick(rng)
            answers["origin_adm1"] = new
            answers["origin_adm2"] = self._draw_adm2(rng, new)
        elif change == "sex":
            answers["sex"] = "male" if answers["sex"] == "female" else "female"
        elif change == "dest":
            current = answers["dest_country"]
            new = current
            while new == current:
                new = self.destination_others.pick(rng)
            answers["dest_country"] = new
            answers["dest_area"] = self._draw_dest_area(rng, new)
        else:
            age = int(answers["age"]) + _one(rng, (-3, -2, -1, 1, 2, 3))
            answers["age"] = str(min(80, max(14, age)))
        self._apply_relevance(answers)
        previous.statuses[:] = [(previous.since, ON_HOLD)]  # held by a supervisor until corrected
        return _Version(
            answers=answers,
            uuid=_uuid4(rng),
            deprecated_uuid=previous.uuid,
            since=t,
            statuses=[(t, APPROVED)],
            notes=previous.notes,
            tags=previous.tags,
        )

    def _plant(self, bad: tuple[str, str, str], answers: dict[str, str]) -> tuple[str, str, str]:
        kind, name, value = bad
        if name == "_uuid":
            return (kind, name, value)
        answers[name] = value
        return (kind, self.path_of[name], value)

    def _apply_relevance(self, answers: dict[str, str]) -> None:
        for is_relevant, names in self.relevance:
            if not is_relevant(answers):
                for name in names:
                    answers[name] = ""

    # answers ----------------------------------------------------------------

    def _draw_answers(self, rng: random.Random, end: int, role: _Role | None) -> dict[str, str]:
        fmp = role.fmp if role and role.fmp else self.fmp.pick(rng)
        enumerator, device = _one(rng, self.enumerators[fmp])
        refused = role is None and rng.random() < _REFUSAL_SHARE
        start = end - (_int(rng, 45, 180) if refused else _int(rng, 540, 2100))
        month = _local_month_index(start)
        direction = "inflow" if rng.random() < _INFLOW_SHARE[month] else "outflow"
        answers = dict(self.blank)
        answers["start"] = _local_iso_ms(start, _below(rng, 1000))
        answers["end"] = _local_iso_ms(end, _below(rng, 1000))
        answers["today"] = _local_date(start)
        answers["deviceid"] = device
        answers["fmp"] = fmp
        answers["enumerator_id"] = enumerator
        answers["direction"] = direction
        answers["consent"] = "no" if refused else "yes"
        answers["gps"] = self._draw_gps(rng, fmp)
        if not refused:
            origin = role.origin_adm1 if role and role.origin_adm1 else self.origin[fmp].pick(rng)
            self._draw_interview(rng, answers, fmp, origin)
        return answers

    def _draw_interview(self, rng: random.Random, a: dict[str, str], fmp: str, origin: str) -> None:
        region = "north" if origin in _NORTH else "south"
        neighbour = self.fmp_neighbour[fmp]
        if neighbour and rng.random() < _NEIGHBOUR_SHARE:
            dest = neighbour
        else:
            dest = self.destination_others.pick(rng)
        dest_key = dest if dest in _SECTOR_DESTINATION else ""
        age = self._draw_age(rng)
        if rng.random() < 0.7:
            a["respondent_name"] = _one(rng, _NAMES)
        if rng.random() < 0.55:
            phone = f"+856 20 {_one(rng, '2579')}{_below(rng, 1000):03d} {_below(rng, 10000):04d}"
            a["phone"] = phone
        a["sex"] = "female" if rng.random() < _FEMALE_SHARE.get(dest, 0.4) else "male"
        a["age"] = str(age)
        a["nationality"] = "LAO" if rng.random() < 0.97 else (neighbour or "THA")
        if rng.random() < 0.9:
            a["ethnicity"] = self.ethnicity[region].pick(rng)
        if rng.random() < 0.92:
            a["marital_status"] = self._draw_marital(rng, age)
        a["education"] = self.education.pick(rng)
        if rng.random() < 0.9:
            a["children"] = str(self._draw_children(rng, age, a["marital_status"]))
        a["origin_adm1"] = origin
        if rng.random() < 0.9:
            a["origin_adm2"] = self._draw_adm2(rng, origin)
        if rng.random() < 0.7:
            a["origin_village"] = _one(rng, _VILLAGES)
        a["dest_country"] = dest
        if rng.random() < 0.85:
            a["dest_area"] = self._draw_dest_area(rng, dest)
        a["reason"] = self.reason.pick(rng)
        if rng.random() < 0.95:
            a["transport"] = self._draw_transport(rng, fmp)
        a["travel_with"] = self.travel_with.pick(rng)
        if rng.random() < 0.85:
            low, high = _JOURNEY_COST.get(dest, _JOURNEY_COST[""])
            a["journey_cost_lak"] = str(_int(rng, low, high) * 10_000)
        a["cost_paid_by"] = self.funding.draw(rng)
        a["debt_lak"] = str(_int(rng, 10, 250) * 100_000)  # relevant only with a loan
        self._draw_work(rng, a, dest, dest_key, region)

    def _draw_work(
        self, rng: random.Random, a: dict[str, str], dest: str, dest_key: str, region: str
    ) -> None:
        employment = self.employment.pick(rng)
        a["employment_before"] = employment
        working = employment in ("employed", "self_employed")
        a["sector_before"] = self.sector_before[region].pick(rng) if working else "none"
        if working and rng.random() < 0.85:
            a["income_before_lak"] = str(_int(rng, 10, 70) * 50_000)
        channel = self.channel.get(dest, self.channel[""]).pick(rng)
        formal = channel in _FORMAL_CHANNELS
        a["job_secured"] = "yes" if rng.random() < (0.9 if formal else 0.45) else "no"
        a["sector_destination"] = self.sector_destination[dest_key].pick(rng)
        if rng.random() < 0.92:
            currency = "LAK" if rng.random() < 0.15 else _CURRENCY_OF.get(dest, "USD")
            low, high, unit = _INCOME_RANGE[currency]
            a["expected_income"] = str(_int(rng, low, high) * unit)
            a["expected_income_currency"] = currency
        a["recruitment_channel"] = channel
        a["has_contract"] = self.contract["formal" if formal else "informal"].pick(rng)
        a["documents"] = self.documents.get(dest, self.documents[""]).draw(rng)
        a["intended_stay"] = self.stay.pick(rng)
        a["previous_migrations"] = self.previous.pick(rng)
        a["plans_remit"] = self.remit.pick(rng)
        a["risks_experienced"] = self.risks.draw(rng)

    @staticmethod
    def _draw_age(rng: random.Random) -> int:
        if rng.random() < 0.85:
            return min(80, max(14, int(rng.triangular(15, 52, 24))))
        return _int(rng, 14, 80)

    @staticmethod
    def _draw_marital(rng: random.Random, age: int) -> str:
        r = rng.random()
        if age < 20:
            return "single" if r < 0.85 else "married"
        if age < 30:
            return "married" if r < 0.55 else "single" if r < 0.95 else "divorced"
        return (
            "married"
            if r < 0.8
            else "divorced"
            if r < 0.88
            else "widowed"
            if r < 0.93
            else "single"
        )

    @staticmethod
    def _draw_children(rng: random.Random, age: int, marital: str) -> int:
        if age < 18 or marital == "single":
            return 0 if rng.random() < 0.9 else 1
        return min(8, int(rng.random() * (age - 14) / 6))

    def _draw_adm2(self, rng: random.Random, adm1: str) -> str:
        table = self.adm2.get(adm1)
        return table.pick(rng) if table else ""

    def _draw_dest_area(self, rng: random.Random, country: str) -> str:
        table = self.dest_area.get(country)
        return table.pick(rng) if table else ""

    def _draw_transport(self, rng: random.Random, fmp: str) -> str:
        chosen = {self.transport[fmp].pick(rng)}
        if rng.random() < 0.2:
            chosen.add(_one(rng, ("bus", "minivan", "car")))
        return " ".join(code for code in self.transport_order if code in chosen)

    def _draw_gps(self, rng: random.Random, fmp: str) -> str:
        if rng.random() < 0.06:
            return ""
        p = _FMP_PROFILES[fmp]
        lat = p.lat + rng.uniform(-0.0025, 0.0025)
        lon = p.lon + rng.uniform(-0.0025, 0.0025)
        alt = p.alt + rng.uniform(-8, 8)
        precision = _one(rng, (3.0, 3.9, 4.5, 4.8, 5.0, 6.1, 8.0, 9.6, 12.0, 16.0))
        return f"{lat:.7f} {lon:.7f} {alt:.1f} {precision:.1f}"


# --------------------------------------------------------------------------- export rows


def _needs_quotes(text: str) -> bool:
    """Would csv.writer quote some value of this text, whichever delimiter it uses?"""
    return '"' in text or ";" in text or "," in text or "\n" in text or "\r" in text


class _KoboColumns:
    """Every column any export may carry, and each submission version as one row of them.

    The row is internal (plain answers, then 0/1 columns, GPS parts, meta and system
    columns); each export picks its own columns from it, in its own order.
    """

    def __init__(self, form: Form) -> None:
        self.form = form
        fields = form.fields
        self.multi = [
            (f.name, f.path, form.choice_names(f.list_name or ""))
            for f in fields
            if f.type == "select_multiple"
        ]
        self.gps = next(f for f in fields if f.type == "geopoint")
        self.gps_parts = tuple(
            f"_{self.gps.name}_{part}"
            for part in ("latitude", "longitude", "altitude", "precision")
        )
        self._answers = itemgetter(*_answer_keys(form))
        names = [f.path for f in fields] + [NEW_VERSION_COLUMN]
        for _, path, options in self.multi:
            names += [f"{path}/{option}" for option in options]
        names += [*self.gps_parts, *META_COLUMNS, *KOBO_SYSTEM_COLUMNS]
        self.names = names
        self.index = {name: j for j, name in enumerate(names)}
        # select_multiple value -> its 0/1 columns; few distinct values, so worth keeping
        self._splits: list[dict[str, tuple[str, ...]]] = [{} for _ in self.multi]
        self.status_at = self.index["_validation_status"]
        self.row_index_at = self.index["_index"]
        self.uuid_at = self.index["_uuid"]

    def row(self, sub: _Submission, version: _Version) -> list[str]:
        if version.row is not None:
            return version.row
        answers = version.answers
        row = list(self._answers(answers))
        for (name, _, options), splits in zip(self.multi, self._splits, strict=True):
            value = answers[name]
            split = splits.get(value)
            if split is None:
                chosen = value.split()
                split = tuple(("1" if o in chosen else "0") if chosen else "" for o in options)
                splits[value] = split
            row += split
        gps = answers[self.gps.name]
        row += gps.split(" ") if gps else ("", "", "", "")
        missing_uuid = sub.bad is not None and sub.bad[0] == "missing_uuid"
        row += (
            f"uuid:{version.uuid}",
            f"uuid:{version.deprecated_uuid}" if version.deprecated_uuid else "",
            str(sub.kobo_id),
            "" if missing_uuid else version.uuid,
            _utc_iso(sub.submitted_at),
            "",  # _validation_status: per export
            "; ".join(version.notes),
            "submitted_via_web",
            sub.submitted_by,
            sub.form_version,
            ",".join(version.tags),
            "",  # _index: per export
        )
        version.row = row
        version.plain = not _needs_quotes("".join(row))
        return row

    def kobo_order(self, multi: str, new_version: bool) -> list[str]:
        """Kobo's own column order: form order, split columns after their question."""
        split = {path: options for _, path, options in self.multi}
        work_fields = [f.path for f in self.form.fields if f.path.startswith("work/")]
        columns: list[str] = []
        for f in self.form.fields:
            if f.path in split:
                if multi != "columns":
                    columns.append(f.path)
                if multi != "space":
                    columns += [f"{f.path}/{option}" for option in split[f.path]]
            else:
                columns.append(f.path)
            if f is self.gps:
                columns += self.gps_parts
            if new_version and work_fields and f.path == work_fields[-1]:
                columns.append(NEW_VERSION_COLUMN)
        return columns + [*META_COLUMNS, *KOBO_SYSTEM_COLUMNS]


# --------------------------------------------------------------------------- FMS exports


@dataclass(frozen=True)
class _FmsExport:
    name: str
    format: Literal["csv", "xlsx", "json"]
    exported_at: int
    arrives_at: int
    description: str
    delimiter: str = ","
    bom: bool = False
    quote_all: bool = False
    select_multiple: Literal["space", "columns", "both"] = "both"
    column_order: Literal["kobo", "system_first", "shuffled"] = "kobo"
    offices: tuple[str, ...] | None = None  # field offices (adm1 of their FMPs); None = all
    cap: int | None = None  # at most this many rows (the first ones)


def _kobo_export_name(form_id: str, t: int, ext: str) -> str:
    stamp = datetime.fromtimestamp(t, LAO_TZ).strftime("%Y-%m-%d-%H-%M-%S")
    return f"{form_id}_-_all_versions_-_False_-_{stamp}.{ext}"


def _fms_exports(form_id: str) -> tuple[_FmsExport, ...]:
    march, april, may, june = (
        _lt(2026, 4, 1, 9, 12, 3),
        _lt(2026, 5, 1, 8, 47, 55),
        _lt(2026, 6, 1, 8, 30, 12),
        _lt(2026, 7, 1, 8, 5, 27),
    )
    vientiane, api, luang_namtha = (
        _lt(2026, 5, 20, 14, 5, 41),
        _lt(2026, 6, 20, 10, 0, 0),
        _lt(2026, 2, 16, 16, 40, 9),
    )
    return (
        _FmsExport(
            _kobo_export_name(form_id, march, "csv"), "csv", march, march + 1200,
            "cumulative export to 31 March with Kobo's defaults (';', UTF-8 BOM); "
            "select_multiple as one space-separated column",
            delimiter=";", bom=True, quote_all=True, select_multiple="space",
        ),
        _FmsExport(
            _kobo_export_name(form_id, april, "csv"), "csv", april, april + 900,
            "cumulative export to 30 April: ',' without BOM, system columns first, "
            "select_multiple as one column and as 0/1 columns",
            column_order="system_first",
        ),
        _FmsExport(
            f"{form_id}_vientiane_office_2026-05-20.xlsx", "xlsx", vientiane,
            _lt(2026, 5, 21, 8, 40), "Vientiane field office's XLSX export of its own points",
            offices=("LA-VT",), cap=3000,
        ),
        _FmsExport(
            _kobo_export_name(form_id, may, "csv"), "csv", may, may + 900,
            "cumulative export to 31 May: ';' with BOM, columns shuffled, "
            "select_multiple as 0/1 columns only",
            delimiter=";", bom=True, quote_all=True, select_multiple="columns",
            column_order="shuffled",
        ),
        _FmsExport(
            f"{form_id}_api_v2_savannakhet_bokeo_2026-06-20.json", "json", api, api + 60,
            "Kobo API v2 data of the Savannakhet and Bokeo field offices",
            offices=("LA-SV", "LA-BK"), cap=2500,
        ),
        _FmsExport(
            _kobo_export_name(form_id, june, "csv"), "csv", june, june + 900,
            "cumulative export to 30 June: ',' without BOM, all fields quoted; carries the "
            f"newer form version's {NEW_VERSION_COLUMN}",
            quote_all=True,
        ),
        _FmsExport(
            f"{form_id}_luang_namtha_office_2026-02-16.csv", "csv", luang_namtha,
            _lt(2026, 7, 2, 10, 15),
            "Luang Namtha field office's export of 16 February, delivered last: it holds "
            "originals of submissions whose edits arrived months earlier",
            delimiter=";", bom=True, quote_all=True, offices=("LA-LM",),
        ),
    )  # fmt: skip


def _copy_name(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem} (1){dot}{ext}"


_COPY_ARRIVES = _lt(2026, 5, 1, 14, 20)  # the March export, downloaded again after April's


class BadRow(TypedDict):
    row: int
    column: str
    kind: str
    value: str


class _FmsWriter:
    """One FMS export being written: which submissions it takes, and their rows."""

    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        self.spec = spec
        self.path = path
        self.columns = columns
        self.rows = 0
        self.bad_rows: list[BadRow] = []
        self.new_version = spec.exported_at >= NEW_VERSION_FROM
        self.header = self._header(columns)
        self.exported_at = spec.exported_at
        self.offices = spec.offices
        self.cap = spec.cap if spec.cap is not None else float("inf")

    def _header(self, columns: _KoboColumns) -> list[str]:
        spec = self.spec
        header = columns.kobo_order(spec.select_multiple, self.new_version)
        if spec.column_order == "system_first":
            system = [*KOBO_SYSTEM_COLUMNS, *META_COLUMNS]
            header = system + [c for c in header if c not in system]
        elif spec.column_order == "shuffled":
            random.Random(f"columns:{spec.name}").shuffle(header)
        return header

    def offer(self, sub: _Submission) -> None:
        exported_at = self.exported_at
        if sub.submitted_at > exported_at:
            return
        if self.offices is not None and sub.office not in self.offices:
            return
        if self.rows >= self.cap:
            return
        version = sub.version_at(exported_at)
        status = version.status_at(exported_at)
        self.rows += 1
        self.write(sub, version, self.columns.row(sub, version), status)
        if sub.bad is not None:
            kind, column, value = sub.bad
            self.bad_rows.append({"row": self.rows, "column": column, "kind": kind, "value": value})

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _CsvFmsWriter(_FmsWriter):
    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        super().__init__(spec, path, columns)
        encoding = "utf-8-sig" if spec.bom else "utf-8"
        self._file = path.open("w", encoding=encoding, newline="", buffering=1 << 20)
        quoting = csv.QUOTE_ALL if spec.quote_all else csv.QUOTE_MINIMAL
        self._csv = csv.writer(self._file, delimiter=spec.delimiter, quoting=quoting)
        self._csv.writerow(self.header)
        self._pick = itemgetter(*(columns.index[c] for c in self.header))
        # What csv.writer would write for a row without delimiters, quotes or line breaks,
        # joined directly: three times faster, and the writer's share of the run time.
        quote = '"' if spec.quote_all else ""
        self._open, self._between, self._close = quote, quote + spec.delimiter + quote, quote
        self._close += "\r\n"

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        row[self.columns.status_at] = status[1]
        row[self.columns.row_index_at] = str(self.rows)
        if version.plain:
            self._file.write(self._open + self._between.join(self._pick(row)) + self._close)
        else:
            self._csv.writerow(self._pick(row))

    def close(self) -> None:
        self._file.close()


class _XlsxFmsWriter(_FmsWriter):
    """Kobo's XLSX export: the same columns on the first sheet, numbers as numbers."""

    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        super().__init__(spec, path, columns)
        form = columns.form
        integers = {f.path for f in form.fields if f.type == "integer"} | {"_id", "_index"}
        integers |= {f"{path}/{o}" for _, path, options in columns.multi for o in options}
        decimals = {f.path for f in form.fields if f.type == "decimal"} | set(columns.gps_parts)
        self._plan = [
            (columns.index[c], int if c in integers else float if c in decimals else None)
            for c in self.header
        ]
        self._book = openpyxl.Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=form.form_id)
        self._sheet.append(self.header)

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        row[self.columns.status_at] = status[1]
        row[self.columns.row_index_at] = str(self.rows)
        self._sheet.append([_xlsx_cell(row[j], kind) for j, kind in self._plan])

    def close(self) -> None:
        self._book.save(self.path)
        _freeze_xlsx(self.path, self.spec.exported_at)


def _xlsx_cell(value: str, kind: type | None) -> str | int | float | None:
    if value == "":
        return None
    if kind is None:
        return value
    try:
        return kind(value)
    except ValueError:
        return value  # a bad value stays as the text it was


def _freeze_xlsx(path: Path, t: int) -> None:
    """openpyxl stamps the save time into the file; replace it so the bytes are reproducible."""
    when = datetime.fromtimestamp(t, UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data
                )
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)


class _JsonFmsWriter(_FmsWriter):
    """Kobo API v2 data: form values as strings, unanswered questions absent."""

    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        super().__init__(spec, path, columns)
        splits = {f"{path}/{o}" for _, path, options in columns.multi for o in options}
        skipped = splits | set(columns.gps_parts) | set(KOBO_SYSTEM_COLUMNS)
        self._answers = [(c, columns.index[c]) for c in self.header if c not in skipped]
        self._results: list[dict[str, Any]] = []  # bounded by spec.cap
        self._formhub = _uuid4(random.Random(f"formhub:{columns.form.form_id}")).replace("-", "")

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        record: dict[str, Any] = {"_id": sub.kobo_id, "formhub/uuid": self._formhub}
        for key, j in self._answers:
            if row[j]:
                record[key] = row[j]
        if row[self.columns.uuid_at]:
            record["_uuid"] = row[self.columns.uuid_at]
        gps = version.answers[self.columns.gps.name]
        lat_lon = [float(x) for x in gps.split(" ")[:2]] if gps else [None, None]
        record.update(
            {
                "_submission_time": _utc_iso(sub.submitted_at),
                "_validation_status": self._status_object(sub, status),
                "_notes": list(version.notes),
                "_status": "submitted_via_web",
                "_submitted_by": sub.submitted_by,
                "__version__": sub.form_version,
                "_tags": list(version.tags),
                "_attachments": [],
                "_geolocation": lat_lon,
                "_xform_id_string": self.columns.form.form_id,
            }
        )
        self._results.append(record)

    @staticmethod
    def _status_object(sub: _Submission, status: tuple[int, str]) -> dict[str, Any]:
        since, code = status
        if not code:
            return {}
        label, color = _STATUS_LABELS[code]
        return {
            "timestamp": since + 5400,
            "uid": code,
            "by_whom": sub.supervisor,
            "label": label,
            "color": color,
        }

    def close(self) -> None:
        page = {"count": len(self._results), "next": None, "previous": None}
        page["results"] = self._results
        with self.path.open("w", encoding="utf-8") as handle:
            json.dump(page, handle, ensure_ascii=False, separators=(",", ":"))


_WRITERS: dict[str, type[_FmsWriter]] = {
    "csv": _CsvFmsWriter,
    "xlsx": _XlsxFmsWriter,
    "json": _JsonFmsWriter,
}

# --------------------------------------------------------------------------- FMS truth


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


# --------------------------------------------------------------------------- FMR folder

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


# --------------------------------------------------------------------------- stories

# Where each story's residence.place must resolve. The match is how the most specific code is
# found: exact (an official name, generic words such as Province/District/Muang/ແຂວງ aside,
# spacing and accents ignored), alias (a known unofficial name or spelling), fuzzy (a
# misspelling) or unmatched. `accepted` lists what a sound gazetteer may equally report.
_STORY_RESIDENCE: dict[str, tuple[str | None, str | None, str, tuple[str, ...]]] = {
    "lao-2024-buakham": ("LA-LM", "LA0301", "alias", ("alias",)),
    "lao-2023-bounmy": ("LA-LM", "LA0302", "alias", ("alias", "exact")),
    "lao-2023-khamla": ("LA-OU", None, "alias", ("alias", "exact")),
    "lao-2023-yeng": ("LA-LM", None, "alias", ("alias", "exact", "fuzzy")),
    "lao-2024-noy": ("LA-VT", None, "exact", ("exact",)),
    "lao-2024-sengphet": ("LA-SV", None, "exact", ("exact",)),
    "lao-2024-phonsavanh": ("LA-SV", None, "fuzzy", ("fuzzy", "alias")),
    "lao-2024-chanthala": (None, None, "unmatched", ("unmatched",)),
    "lao-2024-ayu": ("LA-LM", "LA0305", "exact", ("exact",)),
    "lao-2024-thongdy": ("LA-PH", "LA0205", "exact", ("exact",)),
    "lao-2024-vilayvanh": ("LA-OU", None, "exact", ("exact", "alias")),
    "lao-2024-pao": ("LA-XI", None, "exact", ("exact",)),
    "lao-2025-souksavanh": ("LA-VT", None, "exact", ("exact",)),
    "lao-2025-manivanh": ("LA-CH", None, "exact", ("exact",)),
    "lao-2025-kham": ("LA-LM", "LA0301", "alias", ("alias",)),
    "lao-2025-latsamy": ("LA-LM", "LA0302", "exact", ("exact", "alias")),
    "lao-2025-keo": ("LA-LP", None, "exact", ("exact",)),
    "lao-2025-bouasone": ("LA-LP", None, "exact", ("exact",)),
    "lao-2025-somphone": ("LA-KH", None, "exact", ("exact",)),
    "lao-2025-xia": ("LA-HO", None, "exact", ("exact",)),
    "lao-2025-inpeng": ("LA-CH", None, "exact", ("exact",)),
    "lao-2025-ketsana": ("LA-VT", None, "exact", ("exact", "alias")),
    "lao-2025-daovone": ("LA-BK", None, "exact", ("exact",)),
    "lao-2025-sivilay": ("LA-BK", None, "exact", ("exact",)),
    "lao-2025-amphone": ("LA-XA", None, "fuzzy", ("fuzzy", "alias")),
    "lao-2025-ounkham": ("LA-PH", None, "exact", ("exact", "alias")),
    "lao-2026-nouthong": ("LA-LM", None, "fuzzy", ("fuzzy",)),
    "lao-2026-saengdao": ("LA-PH", "LA0204", "alias", ("alias",)),
    "lao-2026-chue": ("LA-PH", "LA0203", "exact", ("exact", "alias")),
    "lao-2026-onnaly": ("LA-AT", None, "alias", ("alias", "fuzzy")),
    "lao-2026-kongkeo": ("LA-OU", None, "fuzzy", ("fuzzy",)),
    "lao-2026-vanh": (None, None, "unmatched", ("unmatched",)),
    "lao-2026-phetsamone": ("LA-LM", None, "exact", ("exact", "alias")),
    "lao-2026-somsack": ("LA-LM", "LA0304", "exact", ("exact",)),
    "lao-2026-malaythong": ("LA-BL", None, "fuzzy", ("fuzzy", "alias")),
    "lao-2026-anousone": ("LA-LM", "LA0301", "exact", ("exact", "alias")),
}
_BAD_STORY_FILES = {
    "lao-2025-noy-draft.md": "front matter has no id (a required field)",
    "lao-2024-sengdao.md": "front matter is not valid YAML (an unclosed quoted title)",
}
_STORIES_ARRIVE = _lt(2026, 7, 1, 6)


def _front_matter(text: str) -> dict[str, Any]:
    _, matter, _ = text.split("---\n", 2)
    loaded = yaml.safe_load(matter)
    if not isinstance(loaded, dict):
        raise ValueError("front matter is not a mapping")
    return loaded


@dataclass
class _StoryResult:
    files: list[FileRecord]
    stories: list[StoryExpectation]
    bad: list[BadStoryFile]


def _write_stories(folder: Path) -> _StoryResult:
    files: list[FileRecord] = []
    stories: list[StoryExpectation] = []
    bad: list[BadStoryFile] = []
    for k, source in enumerate(sorted(STORIES_DIR.glob("*.md"))):
        target = folder / source.name
        shutil.copyfile(source, target)
        arrives = _STORIES_ARRIVE + 60 * k
        os.utime(target, (arrives, arrives))
        files.append(
            {
                "source": "stories",
                "name": source.name,
                "format": "md",
                "rows": 1,
                "bad_rows": [],
                "mtime": arrives,
                "arrival": 0,
            }
        )
        if source.name in _BAD_STORY_FILES:
            bad.append({"file": source.name, "problem": _BAD_STORY_FILES[source.name]})
        else:
            stories.append(_story_expectation(source))
    return _StoryResult(files, stories, bad)


def _story_expectation(source: Path) -> StoryExpectation:
    meta = _front_matter(source.read_text(encoding="utf-8"))
    story_id = str(meta["id"])
    if story_id not in _STORY_RESIDENCE:
        raise ValueError(f"{source.name}: story {story_id} has no expected residence")
    adm1, adm2, match, accepted = _STORY_RESIDENCE[story_id]
    residence = meta.get("residence") or {}
    return {
        "id": story_id,
        "file": source.name,
        "consent": str(meta["consent"]),
        "language": str(meta["language"]),
        "residence_place": residence.get("place"),
        "residence_adm1_code": adm1,
        "residence_adm2_code": adm2,
        "residence_match": match,
        "residence_match_accepted": list(accepted),
    }


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
