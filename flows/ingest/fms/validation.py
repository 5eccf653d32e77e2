"""Validate staged FMS rows against the XLSForm, inside DuckDB.

`validation_select` turns a staged table (one VARCHAR column per raw column, NULL for a
missing value, plus `extra_columns` and `delivered_hash`, passed through) into the raw
layer's columns plus `errors`, a list of {column, reason, value} structs; a row with any
error is quarantined. It works in two
steps: `answers` computes each stored value once, then `errors` checks those values by
name. Relevance is applied the way Kobo applies it on the device: an answer to a question
that is not relevant (every answer of a refusal, `job_secured` on an inflow, ...) is
cleared, not stored. select_multiple answers are stored as their distinct options sorted
and space-separated, so the same answer is the same text in every export encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.form.expressions import parse_choice_filter, translate
from flows.form.xlsform import (
    EARLIEST_INTERVIEW_DATE,
    VALIDATION_STATUSES,
    Field,
    Form,
    raw_columns,
    raw_system_columns,
)
from flows.sql import quote_identifier, quote_literal

_INTEGER_PATTERN = r"^-?[0-9]+$"


@dataclass(frozen=True)
class SelectMultipleLayout:
    """How one select_multiple field arrived in a file."""

    has_combined_column: bool
    option_columns: dict[str, str]  # option -> staged column name


def _col(name: str) -> str:
    return quote_identifier(name)


def _is_one_of(value: str, values: list[str] | tuple[str, ...]) -> str:
    """SQL true when `value` is one of `values`, NULL when it is NULL, as `IN` is. A list
    lookup: DuckDB compares a value against an `IN` list one constant at a time, and with
    some forty choice lists that was a third of validating a million rows."""
    return f"list_contains([{', '.join(quote_literal(v) for v in values)}], {value})"


@dataclass(frozen=True)
class _Check:
    condition: str  # SQL that is true when the row breaks the rule
    column: str
    reason: str  # SQL text expression
    value: str  # SQL expression of the offending value

    def as_struct(self) -> str:
        return (
            f"CASE WHEN {self.condition} THEN {{'column': {quote_literal(self.column)}, "
            f"'reason': {self.reason}, 'value': {self.value}}} END"
        )


def _error(column: str, condition: str, reason: str, value_sql: str) -> _Check:
    return _Check(condition, column, reason, value_sql)


def _combined_column(name: str) -> str:
    return f"{name}/#combined"


def _ticked_column(name: str) -> str:
    return f"{name}/#ticked"


def _delivered_column(name: str) -> str:
    return f"{name}/#delivered"


def _padded_column(name: str) -> str:
    return f"{name}/#padded"


def _padded_select(form: Form) -> str:
    """Each select_multiple text once, single-spaced and padded: ' bus train '."""
    return ", ".join(
        f"' ' || regexp_replace(trim({_col(f.name)}), '\\s+', ' ', 'g') || ' ' "
        f"AS {_col(_padded_column(f.name))}"
        for f in form.stored_fields
        if f.type == "select_multiple"
    )


# --- step 1: the answers as stored ------------------------------------------------------


class _Answers:
    """SQL for each stored value of one file's layout, relevance applied."""

    def __init__(self, form: Form, layouts: dict[str, SelectMultipleLayout]) -> None:
        self.form = form
        self.layouts = layouts
        self._masked: dict[str, str] = {}

    def _layout(self, field: Field) -> SelectMultipleLayout:
        return self.layouts.get(field.name, SelectMultipleLayout(True, {}))

    def combined(self, field: Field) -> str:
        """The space-separated column as its known options, distinct and sorted.

        Unknown options are dropped here and reported from the delivered text in step 2.
        Looking for each option in the padded text is much faster than splitting lists.
        """
        assert field.list_name
        padded = _col(_padded_column(field.name))
        parts = ", ".join(
            f"CASE WHEN contains({padded}, {quote_literal(' ' + option + ' ')}) "
            f"THEN {quote_literal(option)} END"
            for option in sorted(self.form.choice_names(field.list_name))
        )
        return f"nullif(concat_ws(' ', {parts}), '')"

    @staticmethod
    def ticked(layout: SelectMultipleLayout) -> str:
        """The options whose 0/1 column says 1, sorted."""
        parts = ", ".join(
            f"CASE WHEN {_col(column)} = '1' THEN {quote_literal(option)} END"
            for option, column in sorted(layout.option_columns.items())
        )
        return f"nullif(concat_ws(' ', {parts}), '')"

    def delivered(self, field: Field) -> str:
        if field.type != "select_multiple":
            return _col(field.name)
        layout = self._layout(field)
        if layout.has_combined_column or not layout.option_columns:
            return self.combined(field)
        return self.ticked(layout)

    def relevance(self, field: Field) -> str | None:
        if not field.relevant:
            return None
        return " AND ".join(translate(rule, reference=self.reference) for rule in field.relevant)

    def masked(self, field: Field) -> str:
        """The stored value: NULL when the question is not relevant for this row."""
        if field.name not in self._masked:
            relevance = self.relevance(field)
            value = self.delivered(field)
            self._masked[field.name] = (
                value if relevance is None else f"(CASE WHEN {relevance} THEN {value} END)"
            )
        return self._masked[field.name]

    def masked_text(self, field: Field) -> str:
        """A select_multiple's space-separated text as delivered, when relevant."""
        relevance = self.relevance(field) or "true"
        return f"(CASE WHEN {relevance} THEN trim({_col(field.name)}) END)"

    def reference(self, name: str) -> str:
        return f"coalesce({self.masked(self.form.field(name))}, '')"

    def select_list(self) -> list[str]:
        columns = [_col(name) for name in raw_system_columns()]
        columns += [f"{self.masked(f)} AS {_col(f.name)}" for f in self.form.stored_fields]
        for field in self.form.stored_fields:
            if field.type == "select_multiple":  # NULL when the file had no such column
                delivered = f"{self.masked_text(field)} AS {_col(_delivered_column(field.name))}"
                columns.append(delivered)
            layout = self.layouts.get(field.name)
            if layout is None or not layout.option_columns:
                continue
            columns += [_col(c) for c in layout.option_columns.values()]
            if layout.has_combined_column:
                columns.append(f"{self.combined(field)} AS {_col(_combined_column(field.name))}")
                columns.append(f"{self.ticked(layout)} AS {_col(_ticked_column(field.name))}")
        return columns


# --- step 2: the checks, on stored values by name ----------------------------------------


def _reference(name: str) -> str:
    return f"coalesce({_col(name)}, '')"


def _relevance(field: Field) -> str:
    rules = [translate(rule, reference=_reference) for rule in field.relevant]
    return " AND ".join(rules) or "true"


def _field_errors(
    form: Form, layouts: dict[str, SelectMultipleLayout], field: Field
) -> list[_Check]:
    value = _col(field.name)
    errors: list[str] = []
    if field.required:
        errors.append(
            _error(
                field.name,
                f"{value} IS NULL AND {_relevance(field)}",
                quote_literal("required answer is missing"),
                "NULL",
            )
        )
    errors.extend(_type_errors(form, field, value))
    if field.constraint:
        number = f"TRY_CAST({value} AS DOUBLE)"
        rule = translate(field.constraint, reference=_reference, current_value=number)
        errors.append(
            _error(
                field.name,
                f"{number} IS NOT NULL AND NOT coalesce({rule}, false)",
                quote_literal(f"violates constraint {field.constraint}"),
                value,
            )
        )
    if field.type == "select_multiple" and field.name in layouts:
        errors.extend(_select_multiple_agreement_errors(field, layouts[field.name]))
    return errors


def _type_errors(form: Form, field: Field, value: str) -> list[_Check]:
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
        return _select_one_errors(form, field, value)
    if field.type == "select_multiple" and field.list_name:
        return [_select_multiple_choice_error(form, field)]
    return []


def _select_multiple_choice_error(form: Form, field: Field) -> _Check:
    """Unknown options, found in the delivered text (the stored value keeps known ones)."""
    assert field.list_name
    allowed = form.choice_names(field.list_name)
    option = "(" + "|".join(re.escape(name) for name in allowed) + ")"
    pattern = quote_literal(f"^{option}(\\s+{option})*$")
    value = _col(_delivered_column(field.name))
    tokens = f"string_split_regex({value}, '\\s+')"
    unknown = f"list_filter({tokens}, o -> NOT {_is_one_of('o', allowed)})"
    reason = f"'not in choice list {field.list_name}: ' || array_to_string({unknown}, ' ')"
    condition = f"{value} IS NOT NULL AND NOT regexp_matches({value}, {pattern})"
    return _error(field.name, condition, reason, value)


def _date_errors(column: str, value: str) -> list[_Check]:
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


def _select_one_errors(form: Form, field: Field, value: str) -> list[_Check]:
    assert field.list_name
    choices = form.choices[field.list_name]
    allowed = [c.name for c in choices]
    in_list = _is_one_of(value, allowed)
    errors = [
        _error(
            field.name,
            f"{value} IS NOT NULL AND NOT {in_list}",
            quote_literal(f"not in choice list {field.list_name}"),
            value,
        )
    ]
    if not field.choice_filter:
        return errors
    rule = parse_choice_filter(form, field.list_name, field.choice_filter)
    if rule.field is None:
        filtered = [c.name for c in choices if c.attributes.get(rule.attribute) == rule.literal]
        outside = f"NOT {_is_one_of(value, filtered)}"
        reason = f"not allowed by choice_filter {field.choice_filter}"
    else:
        pairs = [f"{c.attributes.get(rule.attribute, '')}|{c.name}" for c in choices]
        answer_pair = f"({_reference(rule.field)} || '|' || {value})"
        outside = f"NOT {_is_one_of(answer_pair, pairs)}"
        reason = f"does not belong to the answer of {rule.field} ({field.choice_filter})"
    errors.append(_error(field.name, f"{in_list} AND {outside}", quote_literal(reason), value))
    return errors


def _select_multiple_agreement_errors(field: Field, layout: SelectMultipleLayout) -> list[_Check]:
    errors = [
        _error(
            field.name,
            f"{_col(column)} IS NOT NULL AND NOT {_is_one_of(_col(column), ('0', '1'))}",
            quote_literal(f"option column {field.name}/{option} is not 0 or 1"),
            _col(column),
        )
        for option, column in layout.option_columns.items()
    ]
    if layout.has_combined_column and layout.option_columns:
        combined = _col(_combined_column(field.name))
        ticked = _col(_ticked_column(field.name))
        errors.append(
            _error(
                field.name,
                f"{_relevance(field)} AND coalesce({combined}, '') <> coalesce({ticked}, '')",
                quote_literal("space-separated answer disagrees with the 0/1 option columns"),
                combined,
            )
        )
    return errors


def _system_errors() -> list[_Check]:
    uuid, status = _col("_uuid"), _col("_validation_status")
    submitted, deprecated, kobo_id = _col("_submission_time"), _col("deprecated_id"), _col("_id")
    return [
        _error("_uuid", f"{uuid} IS NULL", quote_literal("missing _uuid"), "NULL"),
        _error(
            "_id",
            f"{kobo_id} IS NOT NULL AND (NOT regexp_matches({kobo_id}, '{_INTEGER_PATTERN}') "
            f"OR TRY_CAST({kobo_id} AS BIGINT) IS NULL)",
            quote_literal("not an integer (64-bit)"),
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
            f"{status} IS NOT NULL AND NOT {_is_one_of(status, VALIDATION_STATUSES)}",
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
    """SELECT over `staged` giving source_row, the raw columns and the row's errors.

    Most rows are valid: the list of error structs is built only for rows where some
    check fails, which keeps the per-row cost to the checks themselves.
    """
    checks: list[_Check] = _system_errors()
    for field in form.stored_fields:
        checks.extend(_field_errors(form, layouts, field))
    answers = ",\n    ".join(_Answers(form, layouts).select_list())
    stored = ", ".join(_col(name) for name in raw_columns(form))
    any_error = "\n    OR ".join(f"coalesce({c.condition}, false)" for c in checks)
    structs = ",\n    ".join(c.as_struct() for c in checks)
    errors = (
        f"CASE WHEN {any_error}\n  THEN list_filter([\n    {structs}], e -> e IS NOT NULL)\n"
        "  ELSE [] END"
    )
    return (
        f"WITH prepared AS (\n  SELECT *, {_padded_select(form)} FROM {staged}\n),\n"
        f"answers AS (\n  SELECT source_row,\n    {answers},\n    extra_columns, delivered_hash\n"
        "  FROM prepared\n)\n"
        f"SELECT source_row, {stored}, extra_columns, delivered_hash,\n  {errors} AS errors\n"
        "FROM answers"
    )
