"""Load one migrant story (Markdown with YAML front matter) into `raw.stories`.

One file is one story and one row. A story that breaks the contract (a required field
missing, a code outside its list) is quarantined with one record per violation and nothing
of it is loaded. A valid story is stored under its `id` with its places resolved by the
gazetteer: the same content again is a duplicate, changed content replaces the held row.
Internal-consent stories are loaded too; only dbt's marts decide what may be published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pycountry
import yaml

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.form.xlsform import Form
from flows.ingest.exceptions import UnreadableFile
from flows.ingest.landing import LandingFile, LoadCounts
from flows.ingest.quarantine import QuarantinedRow, quarantine_rows
from flows.ingest.stories.gazetteer import PlaceMatch, gazetteer_for
from flows.ingest.text import read_text
from flows.sql import quote_identifier
from flows.warehouse.schema import STORY_COLUMNS

log = logging.getLogger(__name__)

SOURCE = "stories"
REQUIRED = ("id", "title", "published", "language", "consent", "person.pseudonym")
CONSENT_VALUES = ("public", "internal")
SECTIONS = ("person", "residence", "origin", "migration", "collected")
PLACES = ("residence", "origin")

_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)(?P<body>.*)\Z",
    re.DOTALL | re.MULTILINE,
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGE_TAG = re.compile(r"^(?P<primary>[a-z]{2,3})(?:-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class StoryFile:
    front_matter: dict[str, Any]
    body: str


@dataclass(frozen=True)
class Violation:
    column: str  # front-matter path, e.g. "person.pseudonym"
    reason: str
    value: str | None


class FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe subset without aliases, nested at most `max_depth` levels.

    An alias repeats a node wherever it is named, so a few lines of anchors and aliases
    ("billion laughs") expand to gigabytes once the front matter is turned into text. A
    story's fields never need them. Nesting is bounded before PyYAML's recursive composer
    and constructor would exhaust Python's stack.
    """

    def __init__(self, stream: str, max_depth: int) -> None:
        super().__init__(stream)
        self.max_depth = max_depth
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted in front matter", mark
            )
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested deeper than the {self.max_depth} levels FMW_MAX_NESTING_DEPTH allows",
                    mark,
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self.depth -= 1


def parse_front_matter(text: str, limits: IngestLimits = DEFAULT_INGEST_LIMITS) -> Any:
    size = len(text.encode("utf-8"))
    if size > limits.max_front_matter_bytes:
        raise UnreadableFile(
            f"front matter is {size:,} bytes, more than the {limits.max_front_matter_bytes:,} "
            "FMW_MAX_FRONT_MATTER_KB allows"
        )
    loader = FrontMatterLoader(text, limits.max_nesting_depth)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as error:
        raise UnreadableFile(f"front matter is not valid YAML: {error}") from error
    finally:
        loader.dispose()


def read_story(path: Path, limits: IngestLimits = DEFAULT_INGEST_LIMITS) -> StoryFile:
    """Split a story file into its front matter and body; UnreadableFile if it has no usable
    front matter."""
    size = path.stat().st_size
    if size > limits.max_parsed_file_bytes:
        raise UnreadableFile(
            f"the story file is {size:,} bytes, more than the "
            f"{limits.max_parsed_file_bytes:,} FMW_MAX_PARSED_FILE_MB allows"
        )
    text = read_text(path)
    found = _FRONT_MATTER.match(text)
    if found is None:
        raise UnreadableFile("no YAML front matter between '---' lines at the top")
    front_matter = parse_front_matter(found["yaml"], limits)
    if not isinstance(front_matter, dict):
        raise UnreadableFile("front matter is not a mapping of fields")
    return StoryFile(front_matter, found["body"].strip())


def as_text(value: Any) -> str | None:
    """A front-matter value as stored in the raw layer (VARCHAR)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value).strip() or None


def _field(front_matter: dict[str, Any], path: str) -> Any:
    section, _, name = path.rpartition(".")
    holder = front_matter.get(section) if section else front_matter
    return holder.get(name) if isinstance(holder, dict) else None


def _check_sections(front_matter: dict[str, Any]) -> list[Violation]:
    return [
        Violation(section, "not a mapping of fields", as_text(front_matter[section]))
        for section in SECTIONS
        if front_matter.get(section) is not None and not isinstance(front_matter[section], dict)
    ]


def _check_required(front_matter: dict[str, Any]) -> list[Violation]:
    violations = []
    for path in REQUIRED:
        value = _field(front_matter, path)
        if as_text(value) is None:
            violations.append(Violation(path, "required field missing", None))
        elif isinstance(value, list | dict):
            violations.append(Violation(path, "not a single value", as_text(value)))
    return violations


def published_date(value: Any) -> str | None:
    """YYYY-MM-DD, or None when the value is not a date."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def _is_language(value: str) -> bool:
    found = _LANGUAGE_TAG.match(value)
    if found is None:
        return False
    primary = found["primary"]
    key = "alpha_2" if len(primary) == 2 else "alpha_3"
    return pycountry.languages.get(**{key: primary}) is not None


def _country_codes(form: Form) -> set[str]:
    return {c.alpha_3 for c in pycountry.countries} | set(form.choice_names("country"))


def _code_lists(form: Form) -> dict[str, tuple[str, set[str]]]:
    """front-matter path -> (name of its list, allowed codes)."""
    return {
        "migration.sector_before": ("sector", set(form.choice_names("sector"))),
        "migration.sector": ("sector", set(form.choice_names("sector"))),
        "migration.channel": ("channel", set(form.choice_names("channel"))),
        "migration.destination_country": ("ISO 3166-1 alpha-3", _country_codes(form)),
        "collected.fmp": ("fmp", set(form.choice_names("fmp"))),
    }


def _check_values(front_matter: dict[str, Any], form: Form) -> list[Violation]:
    violations = []
    published = _field(front_matter, "published")
    if published is not None and published_date(published) is None:
        violations.append(Violation("published", "not a date (YYYY-MM-DD)", as_text(published)))
    language = as_text(_field(front_matter, "language"))
    if language is not None and not _is_language(language):
        violations.append(Violation("language", "not an ISO 639 language code", language))
    consent = as_text(_field(front_matter, "consent"))
    if consent is not None and consent not in CONSENT_VALUES:
        violations.append(Violation("consent", "not one of public, internal", consent))
    for path, (list_name, allowed) in _code_lists(form).items():
        value = as_text(_field(front_matter, path))
        if value is not None and value not in allowed:
            violations.append(Violation(path, f"not in choice list {list_name}", value))
    themes = front_matter.get("themes")
    if themes is not None and themes_list(themes) is None:
        violations.append(Violation("themes", "not a list of short tags", as_text(themes)))
    return violations


def themes_list(value: Any) -> list[str] | None:
    """Tags as a list of text; a single tag may be written without brackets."""
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, list | dict) for item in items):
        return None
    return [text for item in items if (text := as_text(item)) is not None]


def validate(front_matter: dict[str, Any], form: Form) -> list[Violation]:
    return (
        _check_sections(front_matter)
        + _check_required(front_matter)
        + _check_values(front_matter, form)
    )


def _place_columns(prefix: str, place: str | None, match: PlaceMatch | None) -> dict[str, Any]:
    return {
        f"{prefix}_place": place,
        f"{prefix}_adm1_code": match.adm1_code if match else None,
        f"{prefix}_adm2_code": match.adm2_code if match else None,
        f"{prefix}_match_quality": match.match_quality if match else None,
        f"{prefix}_match_note": match.note if match else None,
    }


def _resolve_places(front_matter: dict[str, Any], form: Form, file_name: str) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    gazetteer = gazetteer_for(form)
    for prefix in PLACES:
        place = as_text(_field(front_matter, f"{prefix}.place"))
        match = gazetteer.resolve(place) if place is not None else None
        if match is not None and match.note:
            log.info("%s %s place %r: %s", file_name, prefix, place, match.note)
        if match is not None and match.match_quality == "unmatched":
            log.warning("%s: %s place %r left unmatched", file_name, prefix, place)
        columns.update(_place_columns(prefix, place, match))
    return columns


def story_row(story: StoryFile, form: Form, file_name: str) -> dict[str, Any]:
    """The raw.stories values of a valid story, keyed and ordered as STORY_COLUMNS."""
    front = story.front_matter

    def text(path: str) -> str | None:
        return as_text(_field(front, path))

    themes = front.get("themes")
    values: dict[str, Any] = {
        "id": text("id"),
        "title": text("title"),
        "published": published_date(front.get("published")),
        "language": text("language"),
        "url": text("url"),
        "consent": text("consent"),
        "pseudonym": text("person.pseudonym"),
        "person_age": text("person.age"),
        "person_sex": text("person.sex"),
        "person_ethnicity": text("person.ethnicity"),
        "person_children": text("person.children"),
        **_resolve_places(front, form, file_name),
        "destination_country": text("migration.destination_country"),
        "destination_area": text("migration.destination_area"),
        "sector_before": text("migration.sector_before"),
        "sector": text("migration.sector"),
        "channel": text("migration.channel"),
        "themes": themes_list(themes) if themes is not None else None,
        "collected_programme": text("collected.programme"),
        "collected_activity": text("collected.activity"),
        "collected_fmp": text("collected.fmp"),
        "body": story.body or None,
    }
    return {name: values[name] for name, _ in STORY_COLUMNS}


def row_hash(row: dict[str, Any]) -> str:
    payload = json.dumps([row[name] for name, _ in STORY_COLUMNS], ensure_ascii=False)
    return hashlib.md5(payload.encode("utf-8")).hexdigest()


def _quarantine(
    connection: duckdb.DuckDBPyConnection,
    story: StoryFile,
    violations: list[Violation],
    file_name: str,
    run_id: str,
) -> None:
    record = json.dumps(story.front_matter, ensure_ascii=False, default=as_text)
    quarantine_rows(
        connection,
        [
            QuarantinedRow(run_id, SOURCE, file_name, 1, v.column, v.reason, v.value, record)
            for v in violations
        ],
    )


def _store(
    connection: duckdb.DuckDBPyConnection, row: dict[str, Any], file_name: str, run_id: str
) -> bool:
    """Insert or replace the story; False when the same content is already held."""
    content_hash = row_hash(row)
    held = connection.execute(
        "SELECT row_hash FROM raw.stories WHERE id = ?", [row["id"]]
    ).fetchall()
    if held and all(h == content_hash for (h,) in held):
        return False
    connection.execute("DELETE FROM raw.stories WHERE id = ?", [row["id"]])
    names = [name for name, _ in STORY_COLUMNS] + ["row_hash", "source_file", "loaded_run_id"]
    column_list = ", ".join(quote_identifier(name) for name in names)
    placeholders = ", ".join("?" for _ in names)
    connection.execute(
        f"INSERT INTO raw.stories ({column_list}) VALUES ({placeholders})",
        [*row.values(), content_hash, file_name, run_id],
    )
    return True


def load_story_file(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    run_id: str,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> LoadCounts:
    """Load one story file inside the caller's transaction (no commit or rollback here)."""
    story = read_story(landing.path, limits)
    violations = validate(story.front_matter, form)
    if violations:
        _quarantine(connection, story, violations, landing.name, run_id)
        return LoadCounts(rows_read=1, rows_loaded=0, rows_duplicate=0, rows_quarantined=1)
    row = story_row(story, form, landing.name)
    if _store(connection, row, landing.name, run_id):
        return LoadCounts(rows_read=1, rows_loaded=1, rows_duplicate=0, rows_quarantined=0)
    return LoadCounts(rows_read=1, rows_loaded=0, rows_duplicate=1, rows_quarantined=0)
