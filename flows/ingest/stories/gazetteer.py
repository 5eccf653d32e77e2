"""Resolve free-text Lao place names to province (ISO 3166-2) and district (`LA` + 4 digits)
codes.

Names come from maintained sources: pycountry's ISO 3166-2 subdivisions of Lao PDR (English,
plus their Lao, Thai and Chinese translations), the form's `adm1`/`adm2` choice labels, and
the committed list `reference/place_aliases.csv`. That list holds unofficial names (column
`match` empty or `alias`) and official names no maintained source carries (`match` = `exact`):
the Lao-script names of the form's districts ("ເມືອງສິງ" is Sing district's own name in the
official language, as "ຫຼວງນ້ຳທາ" from pycountry is the province's), so they match exactly,
like the romanised form labels, and their row note is not repeated on every match.

Matching, per comma-separated part of a place ("Nateuy District, Luang Namtha Province"):

1. Normalise: NFKC, case-fold, strip accents from Latin letters (never Lao/Thai vowel or
   tone marks), drop punctuation and spacing ("Luang Nam Tha" = "Luang Namtha"). Lao and
   Thai spelling variants that mean the same are unified: a tone mark typed before or after
   the nikhahit of AM ("ນ້ຳ" = "ນໍ້າ"), and Lao HO + LO written with the letter or the
   subscript LO ("ຫລວງ" = "ຫຼວງ").
2. Generic words (District, Muang, Province, Khoueng, Capital, Prefecture, City, Ban, ...,
   and their Lao/Thai prefixes, joined or standalone, and Chinese suffixes) are set aside as
   hints of what kind of place is meant: the "core" name is what is left.
3. Look up the whole part, then its core, each among official names before aliases.
4. Lao and Thai run words together and use spaces between phrases, so a part in Lao or Thai
   script that misses whole is split into sub-parts ("ເມືອງສິງ ແຂວງຫຼວງນ້ຳທາ" -> Sing district
   + Luang Namtha province): a new sub-part opens at each word that is or begins with a Lao
   or Thai generic word, so the word stays a hint on the name after it ("ເມືອງ ສິງ" is one
   sub-part); when there are no such words, at every space. Sub-parts are matched like parts
   (a sub-part that misses whole is split again) and combined like parts. The split counts
   only when some sub-part matches by name; then the rest may match fuzzily. Latin parts are
   never split: spaces belong to their names ("Boun Neua", "Luang Namtha").
5. Only when all this misses, fuzzy-match the core (rapidfuzz ratio >= FUZZY_THRESHOLD, cores
   of at least FUZZY_MIN_LENGTH characters) against every official and alias name.
6. When a name fits several places the hints choose ("Phongsaly District" -> LA0201,
   "Vientiane Capital" -> LA-VT); otherwise the part keeps the most specific code all
   candidates share ("Phongsaly" is the province and its capital district -> LA-PH only),
   and a name with no shared code is ambiguous and resolves to nothing.

Vientiane: ISO 3166-2 names both LA-VT (prefecture, the capital) and LA-VI (province)
"Viangchan". A capital word (Capital, Prefecture, Municipality, City, Nakhon Luang) picks
LA-VT, a province word LA-VI; a bare "Vientiane"/"Viangchan" is ambiguous and left unmatched
(with a note) rather than guessed, unless another part settles it (a district of LA-VI).

Parts are then combined: a district implies its province; a province part that contradicts
the district is overruled by the district and flagged in the note. The match quality is the
weakest method behind the most specific code. Parts naming Lao PDR itself are ignored;
parts that resolve to nothing are named in the note.
"""

from __future__ import annotations

import csv
import gettext
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, cast

import pycountry
from rapidfuzz import fuzz, process

from flows.form.xlsform import Form

MatchQuality = Literal["exact", "alias", "fuzzy", "unmatched"]

ALIASES_PATH = Path(str(resources.files("flows") / "reference" / "place_aliases.csv"))
TRANSLATIONS = ("lo", "th", "zh_CN")

# Conservative: accepts a dropped or doubled letter in a long name ("Phongsally",
# "Luang Namta"), rejects different names that share letters ("Oudomsay" vs "Oudomxay" is 87.5).
FUZZY_THRESHOLD = 90.0
FUZZY_MIN_LENGTH = 5
# Fuzzy hits this close to the best one count as equally likely.
FUZZY_TIE_MARGIN = 2.0

_STRENGTH: dict[str, int] = {"exact": 3, "alias": 2, "fuzzy": 1}

Kind = Literal["district", "province", "capital", "village", "generic"]

_LATIN_KIND_WORDS: dict[str, Kind] = {
    **dict.fromkeys(("district", "dist", "muang", "meuang", "mueang", "muong"), "district"),
    **dict.fromkeys(("province", "prov", "khoueng", "khwaeng"), "province"),
    **dict.fromkeys(("capital", "prefecture", "municipality", "city"), "capital"),
    **dict.fromkeys(("ban", "baan", "village"), "village"),
    **dict.fromkeys(("town",), "generic"),
}
# "Luang" alone is part of names (Luang Namtha); only "Nakhon Luang" means the capital.
_LATIN_KIND_PHRASES = re.compile(r"\bnakhone? ?luang\b")
# Lao and Thai write these words joined to the name; Chinese appends them.
_SCRIPT_PREFIXES: dict[str, Kind] = {
    "ນະຄອນຫຼວງ": "capital",
    "ເມືອງ": "district",
    "ແຂວງ": "province",
    "ບ້ານ": "village",
    "นครหลวง": "capital",
    "เมือง": "district",
    "อำเภอ": "district",
    "แขวง": "province",
    "จังหวัด": "province",
    "บ้าน": "village",
}
_SCRIPT_SUFFIXES: dict[str, Kind] = {"市": "capital", "省": "province", "县": "district"}
_SEPARATORS = re.compile(r"[,;()\[\]/\n]")
# Scripts that write a name's words together and put spaces between phrases.
_SPACED_PHRASE_SCRIPTS = re.compile("[\u0e00-\u0eff]")  # Thai and Lao blocks
# After NFKC, AM is NIKHAHIT + AA; a tone mark may be typed before or after the NIKHAHIT.
_TONE_BEFORE_NIKHAHIT = re.compile("([\u0e48-\u0e4b])\u0e4d|([\u0ec8-\u0ecb])\u0ecd")
# Lao HO + LO is written with the letter LO (older) or the subscript SEMIVOWEL SIGN LO.
_LAO_HO_LO = ("\u0eab\u0ea5", "\u0eab\u0ebc")


@dataclass(frozen=True)
class PlaceMatch:
    adm1_code: str | None
    adm2_code: str | None
    match_quality: MatchQuality
    note: str | None = None


def _fold_latin_accents(text: str) -> str:
    kept: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        # Only marks on Latin letters are accents; Lao and Thai marks are vowels and tones.
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def _unify_tone_order(match: re.Match[str]) -> str:
    tone = match.group(1) or match.group(2)
    nikhahit = "\u0e4d" if match.group(1) else "\u0ecd"
    return nikhahit + tone


def normalise(text: str) -> str:
    """Case-, accent- and punctuation-free text with single spaces between words."""
    text = _fold_latin_accents(unicodedata.normalize("NFKC", text).casefold())
    text = _TONE_BEFORE_NIKHAHIT.sub(_unify_tone_order, text).replace(*_LAO_HO_LO)
    text = text.replace("'", "").replace("\u2019", "")
    kept = (c if unicodedata.category(c)[0] in "LMN" else " " for c in text)
    return " ".join("".join(kept).split())


_PREFIXES = {normalise(k): v for k, v in _SCRIPT_PREFIXES.items()}


@dataclass(frozen=True)
class ParsedName:
    """A name as two lookup keys (spaces removed) and the kinds of place its words hint at."""

    full: str
    core: str
    kinds: frozenset[Kind]


def _leading_kind(token: str) -> tuple[str, Kind | None]:
    """A normalised word without the generic word it is or begins with, and that word's kind."""
    if token in _LATIN_KIND_WORDS:
        return "", _LATIN_KIND_WORDS[token]
    for prefix, kind in _PREFIXES.items():
        if token.startswith(prefix):  # joined ("ເມືອງສິງ") or standalone ("ເມືອງ ສິງ")
            return token[len(prefix) :], kind
    return token, None


def _split_kind(token: str) -> tuple[str, Kind | None]:
    rest, kind = _leading_kind(token)
    if kind is not None:
        return rest, kind
    for suffix, kind in _SCRIPT_SUFFIXES.items():
        if token.endswith(suffix) and len(token) > len(suffix):
            return token[: -len(suffix)], kind
    return token, None


def parse_name(text: str) -> ParsedName:
    normal = normalise(text)
    full = normal.replace(" ", "")
    core_tokens: list[str] = []
    kinds: set[Kind] = set()
    if _LATIN_KIND_PHRASES.search(normal):
        kinds.add("capital")
        normal = _LATIN_KIND_PHRASES.sub(" ", normal)
    for token in normal.split():
        rest, kind = _split_kind(token)
        if kind is not None:
            kinds.add(kind)
        if rest:
            core_tokens.append(rest)
    # A name made only of generic words ("City") is looked up as written.
    core = "".join(core_tokens) or full
    return ParsedName(full, core, frozenset(kinds - {"generic"}))


def sub_parts(part: str) -> list[str]:
    """A Lao or Thai part's phrases: split before each Lao/Thai generic word, else at spaces.

    A single phrase, or a part in other scripts, gives no sub-parts ([]).
    """
    if not _SPACED_PHRASE_SCRIPTS.search(part):
        return []
    words = part.split()
    pieces: list[list[str]] = []
    for word in words:
        # Lao and Thai generic words precede the name (Latin "District" may follow it).
        opens = normalise(word).startswith(tuple(_PREFIXES))
        if opens or not pieces:
            pieces.append([word])
        else:
            pieces[-1].append(word)
    if len(pieces) == 1:
        pieces = [[word] for word in words]
    return [" ".join(piece) for piece in pieces] if len(pieces) > 1 else []


@dataclass
class _NameIndex:
    """key -> {code: note}, for whole names and for their cores."""

    full: dict[str, dict[str, str | None]] = field(default_factory=dict)
    core: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def add(self, name: str, code: str, note: str | None = None) -> None:
        parsed = parse_name(name)
        if not parsed.full:
            return
        self.full.setdefault(parsed.full, {})[code] = note
        self.core.setdefault(parsed.core, {})[code] = note


@dataclass(frozen=True)
class _PartMatch:
    text: str
    codes: dict[str, str | None]  # candidate code -> note
    method: str | None  # exact | alias | fuzzy, None when nothing matched


@dataclass(frozen=True)
class _Resolved:
    """A part reduced to the most specific code its candidates share."""

    text: str
    adm1: str | None
    adm2: str | None
    method: str
    note: str | None
    provinces: frozenset[str]  # every province the part could mean


class Gazetteer:
    def __init__(
        self,
        province_types: dict[str, str],
        district_provinces: dict[str, str],
        official: _NameIndex,
        aliases: _NameIndex,
        country_keys: set[str],
    ) -> None:
        self._province_types = province_types  # LA-VT -> Prefecture, LA-LM -> Province
        self._district_provinces = district_provinces  # LA0301 -> LA-LM
        self._official = official
        self._aliases = aliases
        self._country_keys = country_keys
        self._fuzzy_pool = self._build_fuzzy_pool()

    def _build_fuzzy_pool(self) -> dict[str, dict[str, str | None]]:
        pool: dict[str, dict[str, str | None]] = {}
        for index in (self._aliases, self._official):
            for table in (index.full, index.core):
                for key, codes in table.items():
                    pool.setdefault(key, {}).update(codes)
        return pool

    def province_of(self, code: str) -> str:
        return self._district_provinces.get(code, code)

    def is_district(self, code: str) -> bool:
        return code in self._district_provinces

    def resolve(self, place: str | None) -> PlaceMatch:
        """Codes for a free-text place; unmatched (codes None) when nothing fits confidently."""
        parts = [p.strip() for p in _SEPARATORS.split(place or "") if p.strip()]
        matches = [m for p in parts if not self._names_lao_pdr(p) for m in self._match_part(p)]
        if not matches:
            note = "no place name" if not parts else "names no place below the country"
            return PlaceMatch(None, None, "unmatched", note)
        return self._combine(matches)

    def _names_lao_pdr(self, part: str) -> bool:
        return parse_name(part).full in self._country_keys

    def _match_part(self, text: str) -> list[_PartMatch]:
        """The part matched by name, else (Lao, Thai) its sub-parts, else by spelling."""
        return self._by_name(text) or [self._by_spelling(text)]

    def _by_name(self, text: str) -> list[_PartMatch] | None:
        """Exact or alias matches of the whole text or, failing that, of its sub-parts.

        None when neither the text nor any sub-part matches by name; sub-parts that do not
        are then tried by spelling (or kept unmatched, to be reported).
        """
        parsed = parse_name(text)
        lookups = (
            (self._official.full, parsed.full, "exact"),
            (self._aliases.full, parsed.full, "alias"),
            (self._official.core, parsed.core, "exact"),
            (self._aliases.core, parsed.core, "alias"),
        )
        if "village" in parsed.kinds:
            # A village is no district or province, even when it shares a name with one
            # ("Ban May" is not May district): only the alias list knows villages.
            lookups = tuple(lookup for lookup in lookups if lookup[2] == "alias")
        for table, key, method in lookups:
            if key in table:
                return [_PartMatch(text, self._by_kind(table[key], parsed.kinds), method)]
        pieces = [p for p in sub_parts(text) if not self._names_lao_pdr(p)]
        named = [self._by_name(p) for p in pieces]
        if not any(named):
            return None
        return [
            m
            for piece, hit in zip(pieces, named, strict=True)
            for m in hit or [self._by_spelling(piece)]
        ]

    def _by_spelling(self, text: str) -> _PartMatch:
        parsed = parse_name(text)
        codes = {} if "village" in parsed.kinds else self._fuzzy(parsed.core)
        if codes:
            return _PartMatch(text, self._by_kind(codes, parsed.kinds), "fuzzy")
        return _PartMatch(text, {}, None)

    def _fuzzy(self, key: str) -> dict[str, str | None]:
        if len(key) < FUZZY_MIN_LENGTH:
            return {}
        hits = process.extract(
            key, list(self._fuzzy_pool), scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD, limit=None
        )
        if not hits:
            return {}
        best = max(score for _, score, _ in hits)
        codes: dict[str, str | None] = {}
        for name, score, _ in hits:
            if score >= best - FUZZY_TIE_MARGIN:
                codes.update(self._fuzzy_pool[name])
        return codes

    def _fits_kind(self, code: str, kind: Kind) -> bool:
        if kind == "district":
            return self.is_district(code)
        expected = "Prefecture" if kind == "capital" else "Province"
        return self._province_types.get(code) == expected

    def _by_kind(
        self, codes: dict[str, str | None], kinds: frozenset[Kind]
    ) -> dict[str, str | None]:
        """Keep the candidates the hints point to; hints that fit none are ignored."""
        fitting = {c: n for c, n in codes.items() if any(self._fits_kind(c, k) for k in kinds)}
        return fitting or codes

    def _reduce(self, match: _PartMatch) -> _Resolved | None:
        if match.method is None:
            return None
        codes = sorted(match.codes)
        provinces = frozenset(self.province_of(c) for c in codes)
        notes = sorted({n for n in match.codes.values() if n})
        note = "; ".join(notes) or None
        if match.method == "fuzzy":
            note = _join(f"'{match.text}' matched by spelling similarity", note)
        if len(codes) == 1:
            code = codes[0]
            adm2 = code if self.is_district(code) else None
            return _Resolved(
                match.text, self.province_of(code), adm2, match.method, note, provinces
            )
        if len(provinces) == 1:
            return _Resolved(match.text, next(iter(provinces)), None, match.method, note, provinces)
        ambiguous = f"'{match.text}' is ambiguous: {' or '.join(sorted(provinces))}"
        return _Resolved(match.text, None, None, match.method, ambiguous, provinces)

    def _combine(self, matches: list[_PartMatch]) -> PlaceMatch:
        resolved = [r for m in matches if (r := self._reduce(m)) is not None]
        unresolved = [f"no match for '{m.text}'" for m in matches if m.method is None]
        districts = {r.adm2 for r in resolved if r.adm2}
        if len(districts) == 1:
            result = self._at(districts.pop(), resolved)
        else:
            provinces = {r.adm1 for r in resolved if r.adm1}
            if len(provinces) == 1:
                result = self._at(provinces.pop(), resolved)
            else:
                result = self._unresolved(resolved, districts, provinces)
        note = _join(result.note, *unresolved)
        return PlaceMatch(result.adm1_code, result.adm2_code, result.match_quality, note)

    def _at(self, code: str, resolved: list[_Resolved]) -> PlaceMatch:
        """The place is this district or province: parts that say otherwise are flagged."""
        province = self.province_of(code)
        district = code if self.is_district(code) else None
        sources = [r for r in resolved if (r.adm2 if district else r.adm1) == code]
        notes = [r.note for r in resolved if r.note and r.adm1 is not None]
        several = sorted({r.adm2 for r in resolved if r.adm2 and r.adm2 != code})
        if several:
            notes.append(f"parts name several districts of {province}: {', '.join(several)}")
        where = f"{code} ({province})" if district else code
        notes += [
            f"'{r.text}' contradicts {where}" for r in resolved if province not in r.provinces
        ]
        return PlaceMatch(province, district, _weakest(sources), _join(*notes))

    @staticmethod
    def _unresolved(
        resolved: list[_Resolved], districts: set[str], provinces: set[str]
    ) -> PlaceMatch:
        notes = [r.note for r in resolved if r.note]
        if len(provinces) > 1:
            named = ", ".join(sorted(districts | provinces))
            notes.append(f"parts name places in different provinces: {named}")
        return PlaceMatch(None, None, "unmatched", _join(*notes))


def _weakest(resolved: Iterable[_Resolved]) -> MatchQuality:
    return cast(MatchQuality, min((r.method for r in resolved), key=_STRENGTH.__getitem__))


def _join(*notes: str | None) -> str | None:
    kept = list(dict.fromkeys(n for n in notes if n))
    return "; ".join(kept) or None


def _translations(domain: str) -> list[gettext.NullTranslations]:
    return [
        gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language])
        for language in TRANSLATIONS
    ]


def _subdivision_names() -> Iterator[tuple[str, str, str]]:
    """(code, type, name) for each Lao subdivision, in English and each translation."""
    translations = _translations("iso3166-2")
    for subdivision in pycountry.subdivisions.get(country_code="LA"):
        yield subdivision.code, subdivision.type, subdivision.name
        for translation in translations:
            yield subdivision.code, subdivision.type, translation.gettext(subdivision.name)


def _lao_country_keys(form: Form) -> set[str]:
    lao = pycountry.countries.get(alpha_2="LA")
    names = {lao.name, lao.alpha_3, getattr(lao, "common_name", lao.name), "Lao"}
    names |= {t.gettext(n) for t in _translations("iso3166-1") for n in set(names)}
    names |= {c.label for c in form.choices.get("country", ()) if c.name == lao.alpha_3}
    return {parse_name(n).full for n in names}


def _read_aliases(
    path: Path, district_provinces: dict[str, str], provinces: set[str], official: _NameIndex
) -> _NameIndex:
    """The list's unofficial names as an index; its official names go into `official`.

    An official name's note says where the name comes from, not how the place was matched,
    so it is not attached to matches.
    """
    index = _NameIndex()
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            adm1, adm2 = row["adm1_code"].strip(), row["adm2_code"].strip()
            if adm1 not in provinces or (adm2 and district_provinces.get(adm2) != adm1):
                raise ValueError(f"{path.name} line {line}: unknown or inconsistent codes")
            match = (row.get("match") or "").strip() or "alias"
            if match == "exact":
                official.add(row["alias"], adm2 or adm1)
            elif match == "alias":
                index.add(row["alias"], adm2 or adm1, row["note"].strip() or None)
            else:
                raise ValueError(f"{path.name} line {line}: match must be exact or alias")
    return index


def build_gazetteer(form: Form, aliases_path: Path = ALIASES_PATH) -> Gazetteer:
    province_types: dict[str, str] = {}
    official = _NameIndex()
    for code, kind, name in _subdivision_names():
        province_types[code] = kind
        official.add(name, code)
    for choice in form.choices.get("adm1", ()):
        official.add(choice.label, choice.name)
    district_provinces = {c.name: c.attributes["adm1"] for c in form.choices.get("adm2", ())}
    for choice in form.choices.get("adm2", ()):
        official.add(choice.label, choice.name)
    aliases = _read_aliases(aliases_path, district_provinces, set(province_types), official)
    return Gazetteer(province_types, district_provinces, official, aliases, _lao_country_keys(form))


_BUILT: dict[int, tuple[Form, Gazetteer]] = {}


def gazetteer_for(form: Form) -> Gazetteer:
    """The gazetteer built from this form, built once per form object."""
    held = _BUILT.get(id(form))
    if held is None or held[0] is not form:
        held = (form, build_gazetteer(form))
        _BUILT[id(form)] = held
    return held[1]
