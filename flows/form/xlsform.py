"""The survey's XLSForm: fields, groups, choice lists, constraints and privacy classes.

The form is the single source of truth for what an FMS export may contain; ingestion,
validation, the sample generator and the quality suites all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import openpyxl

FORM_PATH = Path(str(resources.files("flows") / "reference" / "fms_form.xlsx"))

# Kobo system columns (contract section 1). Each is kept, or dropped because it can
# identify a person or a place of interview (GPS, the submitting account, free-text notes).
KOBO_SYSTEM_COLUMNS_KEPT = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_status",
    "__version__",
    "_tags",
)
KOBO_SYSTEM_COLUMNS_DROPPED = (
    "_gps_latitude",
    "_gps_longitude",
    "_gps_altitude",
    "_gps_precision",
    "_geolocation",
    "_attachments",
    "_notes",
    "_submitted_by",
    "_index",
    # Kobo bookkeeping that says nothing about the interview (and, for instanceName,
    # may be built from a respondent's name by the form)
    "formhub/uuid",
    "_xform_id_string",
    "meta/rootUuid",
    "meta/instanceName",
    "_media_count",
    "_total_media",
    "_media_all_received",
    "_supplementalDetails",
)
META_COLUMNS = ("meta/instanceID", "meta/deprecatedID")


@dataclass(frozen=True)
class Choice:
    list_name: str
    name: str
    label: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class Field:
    name: str
    path: str  # "group/name", as in Kobo export headers
    type: str  # "integer", "decimal", "text", "select_one", "select_multiple", "date", ...
    list_name: str | None
    label: str
    required: bool
    constraint: str | None
    relevant: tuple[str, ...]  # the group's condition, then the field's own
    choice_filter: str | None
    privacy: str | None  # "direct", "quasi", "sensitive" or None

    @property
    def is_direct_identifier(self) -> bool:
        return self.privacy == "direct"


@dataclass(frozen=True)
class Form:
    form_id: str
    version: str
    fields: tuple[Field, ...]
    choices: dict[str, tuple[Choice, ...]] = field(default_factory=dict)

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def stored_fields(self) -> tuple[Field, ...]:
        """Fields the warehouse may store: everything but direct identifiers."""
        return tuple(f for f in self.fields if not f.is_direct_identifier)

    @property
    def direct_identifier_paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.fields if f.is_direct_identifier)

    def choice_names(self, list_name: str) -> tuple[str, ...]:
        return tuple(choice.name for choice in self.choices[list_name])


_FIELD_TYPES_WITHOUT_DATA = {"begin_group", "end_group", "note", "begin_repeat", "end_repeat"}


def _rows(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[dict[str, str]]:
    values = list(sheet.iter_rows(values_only=True))
    header = [str(h).strip() if h is not None else "" for h in values[0]]
    rows = []
    for raw in values[1:]:
        if all(cell is None for cell in raw):
            continue
        rows.append(
            {
                h: ("" if cell is None else str(cell).strip())
                for h, cell in zip(header, raw, strict=False)
                if h
            }
        )
    return rows


def _parse_fields(survey: list[dict[str, str]]) -> tuple[Field, ...]:
    fields: list[Field] = []
    groups: list[tuple[str, str]] = []  # (name, relevant)
    for row in survey:
        kind, _, list_name = row["type"].partition(" ")
        if kind == "begin_group":
            groups.append((row["name"], row.get("relevant", "")))
            continue
        if kind == "end_group":
            groups.pop()
            continue
        if kind in _FIELD_TYPES_WITHOUT_DATA:
            continue
        relevant = tuple(r for _, r in groups if r) + (
            (row["relevant"],) if row.get("relevant") else ()
        )
        path = "/".join([g for g, _ in groups] + [row["name"]])
        fields.append(
            Field(
                name=row["name"],
                path=path,
                type=kind,
                list_name=list_name or None,
                label=row.get("label", ""),
                required=row.get("required", "").lower() in {"yes", "true", "true()"},
                constraint=row.get("constraint") or None,
                relevant=relevant,
                choice_filter=row.get("choice_filter") or None,
                privacy=row.get("privacy") or None,
            )
        )
    return tuple(fields)


def _parse_choices(rows: list[dict[str, str]]) -> dict[str, tuple[Choice, ...]]:
    choices: dict[str, list[Choice]] = {}
    for row in rows:
        attributes = {k: v for k, v in row.items() if k not in {"list_name", "name", "label"} and v}
        choices.setdefault(row["list_name"], []).append(
            Choice(row["list_name"], row["name"], row.get("label", ""), attributes)
        )
    return {name: tuple(items) for name, items in choices.items()}


def load_form(path: Path = FORM_PATH) -> Form:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        survey = _rows(workbook["survey"])
        choices = _rows(workbook["choices"])
        settings = _rows(workbook["settings"])[0]
    finally:
        workbook.close()
    return Form(
        form_id=settings.get("form_id", ""),
        version=settings.get("version", ""),
        fields=_parse_fields(survey),
        choices=_parse_choices(choices),
    )


@cache
def default_form() -> Form:
    return load_form()


META_COLUMN_NAMES = {"meta/instanceID": "instance_id", "meta/deprecatedID": "deprecated_id"}


def raw_system_columns() -> tuple[str, ...]:
    """The Kobo system and meta columns the raw FMS table keeps."""
    return (*KOBO_SYSTEM_COLUMNS_KEPT, *META_COLUMN_NAMES.values())


def raw_form_columns(form: Form) -> tuple[str, ...]:
    """The form's fields the raw FMS table keeps (never a direct identifier)."""
    return tuple(f.name for f in form.stored_fields)


def raw_columns(form: Form) -> tuple[str, ...]:
    """Every column of the raw FMS table that holds a delivered value, in table order."""
    return (*raw_system_columns(), *raw_form_columns(form))


# The codes of Kobo's `_validation_status` (landing-zone contract).
VALIDATION_STATUSES = (
    "validation_status_approved",
    "validation_status_not_approved",
    "validation_status_on_hold",
)
# FMS in Lao PDR started long after this; an earlier `today` is a device clock error.
EARLIEST_INTERVIEW_DATE = "2015-01-01"
