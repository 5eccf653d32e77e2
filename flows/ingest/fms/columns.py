"""Map an FMS export's headers to the warehouse's columns, and decide what is never stored.

Kobo exports name columns by group path (`profile/age`); the raw layer names them by the
form's field name (`age`), which XLSForm keeps unique. Direct identifiers are dropped here,
before any value is read into the warehouse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flows.form.xlsform import (
    KOBO_SYSTEM_COLUMNS_DROPPED,
    KOBO_SYSTEM_COLUMNS_KEPT,
    META_COLUMN_NAMES,
    Field,
    Form,
)

# Columns unknown to the form (a newer form version) are kept, unless their name says they
# probably identify a person or a place: privacy by default beats completeness.
_IDENTIFYING_NAME = re.compile(
    r"(name|phone|mobile|email|gps|geo|latitude|longitude|village|address|device|imei|photo|"
    r"signature|passport_no|id_number)",
    re.IGNORECASE,
)

# Without these a file is not an export of this form (e.g. another form's CSV).
REQUIRED_HEADERS = ("_uuid", "consent", "direction", "fmp", "today")


class NotThisForm(ValueError):
    """The file's columns are not those of the form's exports."""


@dataclass
class ColumnPlan:
    """Where each header of one file goes."""

    kept: dict[str, str] = field(default_factory=dict)  # header -> raw column
    options: dict[str, tuple[str, str]] = field(default_factory=dict)  # header -> (field, option)
    extras: list[str] = field(default_factory=list)  # headers kept in extra_columns
    dropped: list[str] = field(default_factory=list)  # headers never stored

    @property
    def fields_with_combined_column(self) -> set[str]:
        return set(self.kept.values())

    def option_columns_of(self, field_name: str) -> dict[str, str]:
        """option -> header, for one select_multiple field."""
        return {opt: h for h, (name, opt) in self.options.items() if name == field_name}


def _field_for_header(form: Form, header: str) -> Field | None:
    for candidate in form.fields:
        if header in (candidate.path, candidate.name):
            return candidate
    return None


def _select_multiple_option(form: Form, header: str) -> tuple[Field, str] | None:
    parent, _, option = header.rpartition("/")
    if not parent:
        return None
    owner = _field_for_header(form, parent)
    if owner is None or owner.type != "select_multiple" or owner.list_name is None:
        return None
    if option not in form.choice_names(owner.list_name):
        return None
    return owner, option


def plan_columns(form: Form, headers: list[str]) -> ColumnPlan:
    """Classify every header; raise NotThisForm when the file is not this form's export."""
    plan = ColumnPlan()
    seen_targets: dict[str, str] = {}
    for header in headers:
        target = _classify(form, header, plan)
        if target is None:
            continue
        if target in seen_targets:
            raise NotThisForm(
                f"columns {seen_targets[target]!r} and {header!r} both hold {target!r}"
            )
        seen_targets[target] = header
    present = {_canonical_name(form, h) for h in headers}
    missing = [name for name in REQUIRED_HEADERS if name not in present]
    if missing:
        raise NotThisForm(
            f"not an export of form {form.form_id!r}: missing column(s) {', '.join(missing)}"
        )
    return plan


def _canonical_name(form: Form, header: str) -> str:
    found = _field_for_header(form, header)
    return found.name if found else header


def _classify(form: Form, header: str, plan: ColumnPlan) -> str | None:
    """Record the header in the plan; return the raw column it fills, if any."""
    if header in KOBO_SYSTEM_COLUMNS_KEPT:
        plan.kept[header] = header
        return header
    if header in META_COLUMN_NAMES:
        plan.kept[header] = META_COLUMN_NAMES[header]
        return META_COLUMN_NAMES[header]
    if header in KOBO_SYSTEM_COLUMNS_DROPPED:
        plan.dropped.append(header)
        return None
    found = _field_for_header(form, header)
    if found is not None:
        if found.is_direct_identifier:
            plan.dropped.append(header)
            return None
        plan.kept[header] = found.name
        return found.name
    option = _select_multiple_option(form, header)
    if option is not None:
        owner, value = option
        if owner.is_direct_identifier:
            plan.dropped.append(header)
            return None
        plan.options[header] = (owner.name, value)
        return f"{owner.name}/{value}"
    if _IDENTIFYING_NAME.search(header) or _is_under_direct_field(form, header):
        plan.dropped.append(header)
        return None
    plan.extras.append(header)
    return header


def _is_under_direct_field(form: Form, header: str) -> bool:
    return any(header.startswith(path + "/") for path in form.direct_identifier_paths)
