"""Validate staged FMS rows against the XLSForm, inside DuckDB.

`validation_select` turns a staged table (one VARCHAR column per raw column, NULL for a
missing value) into the raw layer's columns plus `errors`, a list of
{column, reason, value} structs; a row with any error is quarantined. Relevance is applied
the way Kobo applies it on the device: a value in a question that is not relevant (every
answer of a refusal, `job_secured` on an inflow, ...) is cleared, not stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.fms_columns import raw_form_columns, raw_system_columns
from flows.form import Field, Form
from flows.xlsform_sql import (
    parse_choice_filter,
    quote_identifier,
    quote_literal,
    sql_list,
    translate,
)

VALIDATION_STATUSES = (
    "validation_status_approved",
    "validation_status_not_approved",
    "validation_status_on_hold",
)
# FMS in Lao PDR started long after this; an earlier `today` is a device clock error.
EARLIEST_INTERVIEW_DATE = "2015-01-01"

_INTEGER_PATTERN = r"^-?[0-9]+$"


@dataclass(frozen=True)
class SelectMultipleLayout:
    """How one select_multiple field arrived in a file."""

    has_combined_column: bool
    option_columns: dict[str, str]  # option -> staged column name


def _col(name: str) -> str:
    return quote_identifier(name)


def _error(column: str, condition: str, reason: str, value_sql: str) -> str:
    return (
        f"CASE WHEN {condition} THEN {{'column': {quote_literal(column)}, "
        f"'reason': {reason}, 'value': {value_sql}}} END"
    )


class _FormSql:
    """SQL for one file's layout of the form."""

    def __init__(self, form: Form, layouts: dict[str, SelectMultipleLayout]) -> None:
        self.form = form
        self.layouts = layouts
        self._masked: dict[str, str] = {}

    def value(self, field: Field) -> str:
        """The answer as delivered, select_multiple normalised to space-separated options."""
        if field.type != "select_multiple":
            return _col(field.name)
        layout = self.layouts.get(field.name, SelectMultipleLayout(True, {}))
        if layout.has_combined_column or not layout.option_columns:
            return f"nullif(trim(regexp_replace({_col(field.name)}, '\\s+', ' ', 'g')), '')"
        return self.from_option_columns(layout)

    @staticmethod
    def from_option_columns(layout: SelectMultipleLayout) -> str:
        parts = ", ".join(
            f"CASE WHEN {_col(column)} = '1' THEN {quote_literal(option)} END"
            for option, column in layout.option_columns.items()
        )
        return f"nullif(concat_ws(' ', {parts}), '')"

    def stored(self, field: Field) -> str:
        """The value the raw layer keeps: select_multiple options in the form's order, so the
        same answer is the same text whichever encoding or order the export used."""
        masked = self.masked(field)
        if field.type != "select_multiple" or not field.list_name:
            return masked
        choices = sql_list(self.form.choice_names(field.list_name))
        selected = f"string_split({masked}, ' ')"
        ordered = f"array_to_string(list_filter({choices}, c -> list_contains({selected}, c)), ' ')"
        return f"nullif({ordered}, '')"

    def relevance(self, field: Field) -> str | None:
        if not field.relevant:
            return None
        return " AND ".join(translate(rule, reference=self.reference) for rule in field.relevant)

    def masked(self, field: Field) -> str:
        """The stored value: NULL when the question is not relevant for this row."""
        if field.name not in self._masked:
            relevance = self.relevance(field)
            value = self.value(field)
            self._masked[field.name] = (
                value if relevance is None else f"(CASE WHEN {relevance} THEN {value} END)"
            )
        return self._masked[field.name]

    def reference(self, name: str) -> str:
        return f"coalesce({self.masked(self.form.field(name))}, '')"


def _field_errors(sql: _FormSql, field: Field) -> list[str]:
    value = sql.masked(field)
    errors: list[str] = []
    if field.required:
        relevance = sql.relevance(field) or "true"
        errors.append(
            _error(
                field.name,
                f"{value} IS NULL AND {relevance}",
                quote_literal("required answer is missing"),
                "NULL",
            )
        )
    errors.extend(_type_errors(sql, field, value))
    if field.constraint:
        number = f"TRY_CAST({value} AS DOUBLE)"
        rule = translate(field.constraint, reference=sql.reference, current_value=number)
        errors.append(
            _error(
                field.name,
                f"{number} IS NOT NULL AND NOT coalesce({rule}, false)",
                quote_literal(f"violates constraint {field.constraint}"),
                value,
            )
        )
    if field.type == "select_multiple":
        errors.extend(_select_multiple_agreement_errors(sql, field))
    return errors


def _type_errors(sql: _FormSql, field: Field, value: str) -> list[str]:
    present = f"{value} IS NOT NULL"
    if field.type == "integer":
        condition = f"{present} AND NOT regexp_matches({value}, '{_INTEGER_PATTERN}')"
        return [_error(field.name, condition, quote_literal("not an integer"), value)]
    if field.type == "decimal":
        condition = f"{present} AND NOT isfinite(coalesce(TRY_CAST({value} AS DOUBLE), 'nan'))"
        return [_error(field.name, condition, quote_literal("not a number"), value)]
    if field.type == "today":
        return _date_errors(field.name, value)
    if field.type in {"start", "end"}:
        condition = f"{present} AND TRY_CAST({value} AS TIMESTAMPTZ) IS NULL"
        reason = quote_literal("not an ISO 8601 timestamp")
        return [_error(field.name, condition, reason, value)]
    if field.type == "select_one" and field.list_name:
        return _select_one_errors(sql, field, value)
    if field.type == "select_multiple" and field.list_name:
        allowed = sql_list(sql.form.choice_names(field.list_name))
        unknown = f"list_filter(string_split({value}, ' '), o -> NOT list_contains({allowed}, o))"
        condition = f"{present} AND len({unknown}) > 0"
        reason = f"'not in choice list {field.list_name}: ' || array_to_string({unknown}, ' ')"
        return [_error(field.name, condition, reason, value)]
    return []


def _date_errors(column: str, value: str) -> list[str]:
    parsed = f"TRY_STRPTIME({value}, '%Y-%m-%d')"
    submitted = 'TRY_CAST("_submission_time" AS TIMESTAMP)'
    return [
        _error(
            column,
            f"{value} IS NOT NULL AND {parsed} IS NULL",
            quote_literal("not a date (YYYY-MM-DD)"),
            value,
        ),
        _error(
            column,
            f"{parsed} < DATE '{EARLIEST_INTERVIEW_DATE}'",
            quote_literal(f"interview date before {EARLIEST_INTERVIEW_DATE}"),
            value,
        ),
        _error(
            column,
            f"CAST({parsed} AS DATE) > CAST({submitted} AS DATE) + 1",
            quote_literal("interview date after the submission date"),
            value,
        ),
    ]


def _select_one_errors(sql: _FormSql, field: Field, value: str) -> list[str]:
    assert field.list_name
    choices = sql.form.choices[field.list_name]
    allowed = [c.name for c in choices]
    errors = [
        _error(
            field.name,
            f"{value} IS NOT NULL AND NOT list_contains({sql_list(allowed)}, {value})",
            quote_literal(f"not in choice list {field.list_name}"),
            value,
        )
    ]
    if not field.choice_filter:
        return errors
    rule = parse_choice_filter(sql.form, field.list_name, field.choice_filter)
    if rule.field is None:
        filtered = [c.name for c in choices if c.attributes.get(rule.attribute) == rule.literal]
        outside = f"NOT list_contains({sql_list(filtered)}, {value})"
        reason = f"not allowed by choice_filter {field.choice_filter}"
    else:
        pairs = [f"{c.attributes.get(rule.attribute, '')}|{c.name}" for c in choices]
        key = f"{sql.reference(rule.field)} || '|' || {value}"
        outside = f"NOT list_contains({sql_list(pairs)}, {key})"
        reason = f"does not belong to the answer of {rule.field} ({field.choice_filter})"
    in_list = f"list_contains({sql_list(allowed)}, {value})"
    errors.append(_error(field.name, f"{in_list} AND {outside}", quote_literal(reason), value))
    return errors


def _select_multiple_agreement_errors(sql: _FormSql, field: Field) -> list[str]:
    layout = sql.layouts.get(field.name)
    if layout is None or not layout.option_columns:
        return []
    errors = [
        _error(
            field.name,
            f"{_col(column)} IS NOT NULL AND {_col(column)} NOT IN ('0', '1')",
            quote_literal(f"option column {field.name}/{option} is not 0 or 1"),
            _col(column),
        )
        for option, column in layout.option_columns.items()
    ]
    if layout.has_combined_column:
        combined = sql.masked(field)
        from_options = _FormSql.from_option_columns(layout)
        relevance = sql.relevance(field) or "true"
        options = sql_list(list(layout.option_columns))
        listed = (
            f"list_sort(list_filter(string_split(coalesce({combined}, ''), ' '), "
            f"o -> list_contains({options}, o)))"
        )
        ticked = (
            f"list_sort(list_filter(string_split(coalesce({from_options}, ''), ' '), o -> o <> ''))"
        )
        errors.append(
            _error(
                field.name,
                f"{relevance} AND {listed} <> {ticked}",
                quote_literal("space-separated answer disagrees with the 0/1 option columns"),
                combined,
            )
        )
    return errors


def _system_errors() -> list[str]:
    uuid, status = _col("_uuid"), _col("_validation_status")
    known_statuses = sql_list(VALIDATION_STATUSES)
    submitted, deprecated, kobo_id = _col("_submission_time"), _col("deprecated_id"), _col("_id")
    return [
        _error("_uuid", f"{uuid} IS NULL", quote_literal("missing _uuid"), "NULL"),
        _error(
            "_id",
            f"{kobo_id} IS NOT NULL AND NOT regexp_matches({kobo_id}, '{_INTEGER_PATTERN}')",
            quote_literal("not an integer"),
            kobo_id,
        ),
        _error(
            "_submission_time",
            f"{submitted} IS NOT NULL AND TRY_CAST({submitted} AS TIMESTAMP) IS NULL",
            quote_literal("not a timestamp (YYYY-MM-DDTHH:MM:SS)"),
            submitted,
        ),
        _error(
            "_validation_status",
            f"{status} IS NOT NULL AND NOT list_contains({known_statuses}, {status})",
            quote_literal("unknown validation status"),
            status,
        ),
        _error(
            "meta/deprecatedID",
            f"{deprecated} IS NOT NULL AND NOT starts_with({deprecated}, 'uuid:')",
            quote_literal("deprecatedID does not start with uuid:"),
            deprecated,
        ),
    ]


def validation_select(form: Form, staged: str, layouts: dict[str, SelectMultipleLayout]) -> str:
    """SELECT over `staged` giving source_row, the raw columns and the row's errors."""
    sql = _FormSql(form, layouts)
    errors: list[str] = _system_errors()
    for field in form.stored_fields:
        errors.extend(_field_errors(sql, field))
    columns = [f"{_col(name)}" for name in raw_system_columns()]
    columns += [f"{sql.stored(f)} AS {_col(f.name)}" for f in form.stored_fields]
    error_list = "list_filter([" + ",\n  ".join(errors) + "], e -> e IS NOT NULL)"
    return (
        "SELECT source_row,\n  "
        + ",\n  ".join(columns)
        + ",\n  extra_columns,\n  "
        + error_list
        + " AS errors\nFROM "
        + staged
    )


def raw_columns(form: Form) -> tuple[str, ...]:
    return (*raw_system_columns(), *raw_form_columns(form))
