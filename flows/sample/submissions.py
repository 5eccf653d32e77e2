"""One submission at a time: its answers, versions, edits and planted faults."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flows.form.xlsform import Form
from flows.sample.draws import _ALNUM, _below, _int, _Multi, _one, _uuid4, _Weighted
from flows.sample.realism import (
    _ADM2_WEIGHTS,
    _CHANNEL,
    _CONTRACT,
    _CURRENCY_OF,
    _DEST_AREA_WEIGHTS,
    _DOCUMENTS,
    _EDUCATION,
    _EMPLOYMENT,
    _ETHNICITY,
    _FEMALE_SHARE,
    _FMP_PROFILES,
    _FORMAL_CHANNELS,
    _FUNDING,
    _INCOME_RANGE,
    _JOURNEY_COST,
    _KOBO_ID_BASE,
    _NAMES,
    _NEIGHBOUR_SHARE,
    _NEW_VERSION_KEY,
    _NORTH,
    _NOTES,
    _OTHER_DESTINATIONS,
    _PREVIOUS,
    _REASON,
    _REMIT,
    _REMITTANCE_CHANNELS,
    _RISKS,
    _SECTOR_BEFORE,
    _SECTOR_DESTINATION,
    _STAY,
    _TRAVEL_WITH,
    _VILLAGES,
    APPROVED,
    FORM_VERSIONS,
    NEW_VERSION_FROM,
    NOT_APPROVED,
    ON_HOLD,
)
from flows.sample.relevance import _answer_keys, _relevance_groups
from flows.sample.timeline import (
    _DAY,
    _INFLOW_SHARE,
    _interview_end,
    _local_date,
    _local_iso_ms,
    _local_month_index,
    _lt,
    _Timeline,
)


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
