"""Generate the raw FMS expectation suite from the XLSForm (`fmw expectations generate`).

The suite is committed as `expectations/raw_fms_submissions.json` and reviewed like code; a test
regenerates it and fails when the committed file has drifted from the form. It checks what ingest
already promises about `raw.fms_submissions` (every value VARCHAR, validated against the form,
non-relevant answers NULL), so a failure means a bug upstream or a row written around ingest:

- required answers are present where the question was relevant (GX row_condition);
- select_one answers are in their choice list (narrowed by a literal choice_filter), and an answer
  filtered by another field's answer belongs to it (column pairs);
- select_multiple answers are space-separated options of their list (a regex);
- integers and decimals are numbers within their form constraint, `today` is a date between the
  first FMS interview and the run's date; raw values are text, which GX's between-expectations
  cannot compare with numbers on DuckDB, so these are query expectations (TRY_CAST in SQL);
- the Kobo system columns the marts rely on: `_uuid` present and unique, known validation statuses,
  `deprecated_id` of the form `uuid:...`.

A check is critical when its field feeds a published mart (MART_FIELDS): a bad value there would
publish a wrong number. Every other check is a warning.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column, Condition

from flows.form.expressions import UnsupportedExpression, parse_choice_filter
from flows.form.xlsform import EARLIEST_INTERVIEW_DATE, VALIDATION_STATUSES, Field, Form
from flows.quality.results import MAX_DATE_PARAMETER
from flows.sql import quote_identifier

SUITE_NAME = "raw_fms_submissions"
TABLE = "raw.fms_submissions"
# The raw fields dbt reads into the published marts (int_fms_submissions_resolved ->
# fms_corridor_monthly, story_coverage), plus the system columns edit resolution and the
# rejected flag read. A wrong value in one of them changes a published number.
MART_FIELDS = frozenset(
    {"today", "direction", "consent", "sex", "origin_adm1", "dest_country"}
    | {"_uuid", "_validation_status", "deprecated_id"}
)

_INTEGER_PATTERN = "^-?[0-9]+$"
_BOUND = re.compile(r"\.\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)")
_EQUALS_LITERAL = re.compile(r"\$\{(\w+)\}\s*=\s*'([^']*)'")


def generate_raw_fms_suite(form: Form) -> dict[str, Any]:
    """The suite as the JSON object committed under expectations/."""
    expectations: list[gxe.Expectation] = _system_expectations()
    for form_field in form.stored_fields:
        expectations.extend(_field_expectations(form, form_field))
    suite = gx.ExpectationSuite(SUITE_NAME, expectations=expectations)
    suite_json = suite.to_json_dict()
    suite_json["meta"] = {
        "generated_by": "fmw expectations generate",
        "form": f"{form.form_id} {form.version}",
    }
    return {**suite_json, "table": TABLE}


def render_suite(suite_json: dict[str, Any]) -> str:
    return json.dumps(suite_json, indent=2, ensure_ascii=False) + "\n"


def write_raw_fms_suite(form: Form, directory: Path) -> Path:
    path = directory / f"{SUITE_NAME}.json"
    path.write_text(render_suite(generate_raw_fms_suite(form)), encoding="utf-8")
    return path


def is_up_to_date(form: Form, directory: Path) -> bool:
    path = directory / f"{SUITE_NAME}.json"
    expected = render_suite(generate_raw_fms_suite(form))
    return path.is_file() and path.read_text(encoding="utf-8") == expected


def _severity(*names: str) -> str:
    return "critical" if MART_FIELDS.intersection(names) else "warning"


def _meta(*names: str, check: str | None = None, row_level: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"severity": _severity(*names)}
    if check:
        meta["check"] = check
    if row_level:
        meta["row_level"] = True
    return meta


def _kwargs(*names: str, check: str | None = None, row_level: bool = False) -> dict[str, Any]:
    """meta and GX's own severity field, which must agree (see gx_duckdb.load_suite).

    row_level marks a query expectation whose query judges each row on its own, so that it
    may run on new rows only (gx_duckdb.is_row_level).
    """
    meta = _meta(*names, check=check, row_level=row_level)
    return {"meta": meta, "severity": _severity(*names)}


def _system_expectations() -> list[gxe.Expectation]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="_uuid", **_kwargs("_uuid")),
        gxe.ExpectColumnValuesToBeUnique(column="_uuid", **_kwargs("_uuid")),
        gxe.ExpectColumnValuesToBeInSet(
            column="_validation_status",
            value_set=list(VALIDATION_STATUSES),
            **_kwargs("_validation_status"),
        ),
        gxe.ExpectColumnValuesToMatchRegex(
            column="deprecated_id", regex="^uuid:.+", **_kwargs("deprecated_id")
        ),
    ]


def _field_expectations(form: Form, form_field: Field) -> list[gxe.Expectation]:
    expectations: list[gxe.Expectation] = []
    if form_field.required:
        expectations.append(_required(form_field))
    if form_field.type == "select_one" and form_field.list_name:
        expectations.extend(_select_one(form, form_field))
    elif form_field.type == "select_multiple" and form_field.list_name:
        expectations.append(_select_multiple(form, form_field))
    elif form_field.type in {"integer", "decimal"}:
        expectations.append(_number(form_field))
    elif form_field.type == "today":
        expectations.append(_interview_date(form_field))
    return expectations


def _required(form_field: Field) -> gxe.Expectation:
    condition = _relevance_condition(form_field)
    if condition is None:
        return gxe.ExpectColumnValuesToNotBeNull(column=form_field.name, **_kwargs(form_field.name))
    return gxe.ExpectColumnValuesToNotBeNull(
        column=form_field.name, row_condition=condition, **_kwargs(form_field.name)
    )


def _relevance_condition(form_field: Field) -> Condition | None:
    """The field's relevance as a GX row_condition: `${a} = 'x' and ${b} = 'y'` only.

    Ingest stores a non-relevant answer as NULL, so "required" means "not NULL where relevant".
    """
    conditions: list[Condition] = []
    for rule in form_field.relevant:
        for part in re.split(r"\s+and\s+", rule.strip()):
            match = _EQUALS_LITERAL.fullmatch(part.strip())
            if not match:
                raise UnsupportedExpression(
                    f"required field {form_field.name}: relevance {rule!r} is not a conjunction"
                    " of ${field} = 'value', which is all the generator turns into row_condition"
                )
            conditions.append(Column(match[1]) == match[2])
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _select_one(form: Form, form_field: Field) -> list[gxe.Expectation]:
    assert form_field.list_name
    choices = form.choices[form_field.list_name]
    allowed = [choice.name for choice in choices]
    rule = (
        parse_choice_filter(form, form_field.list_name, form_field.choice_filter)
        if form_field.choice_filter
        else None
    )
    if rule is not None and rule.field is None:
        allowed = [c.name for c in choices if c.attributes.get(rule.attribute) == rule.literal]
    expectations: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToBeInSet(
            column=form_field.name, value_set=allowed, **_kwargs(form_field.name)
        )
    ]
    if rule is not None and rule.field is not None:
        pairs = [(c.attributes.get(rule.attribute, ""), c.name) for c in choices]
        expectations.append(
            gxe.ExpectColumnPairValuesToBeInSet(
                column_A=rule.field,
                column_B=form_field.name,
                value_pairs_set=pairs,
                ignore_row_if="either_value_is_missing",
                **_kwargs(form_field.name),
            )
        )
    return expectations


def _select_multiple(form: Form, form_field: Field) -> gxe.Expectation:
    assert form_field.list_name
    option = "(" + "|".join(re.escape(n) for n in form.choice_names(form_field.list_name)) + ")"
    return gxe.ExpectColumnValuesToMatchRegex(
        column=form_field.name, regex=f"^{option}( {option})*$", **_kwargs(form_field.name)
    )


def _number(form_field: Field) -> gxe.Expectation:
    column = quote_identifier(form_field.name)
    if form_field.type == "integer":
        number = f"TRY_CAST({column} AS BIGINT)"
        valid = f"regexp_matches({column}, '{_INTEGER_PATTERN}') AND {number} IS NOT NULL"
    else:
        number = f"TRY_CAST({column} AS DOUBLE)"
        valid = f"isfinite({number})"
    bounds = _constraint_bounds(form_field)
    valid_and_in_range = " AND ".join([valid, *(f"{number} {op} {value}" for op, value in bounds)])
    rule = f"{form_field.type} {form_field.constraint or ''}".strip()
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=(
            f"SELECT {column} FROM {{batch}} "
            f"WHERE {column} IS NOT NULL AND NOT coalesce({valid_and_in_range}, false)"
        ),
        description=f"{form_field.name}: {rule}",
        **_kwargs(form_field.name, check=f"{form_field.name}: {rule}", row_level=True),
    )


def _constraint_bounds(form_field: Field) -> list[tuple[str, str]]:
    """`. >= 14 and . <= 80` -> [(">=", "14"), ("<=", "80")]; other constraints are refused."""
    if not form_field.constraint:
        return []
    bounds = []
    for part in re.split(r"\s+and\s+", form_field.constraint.strip()):
        match = _BOUND.fullmatch(part.strip())
        if not match:
            raise UnsupportedExpression(
                f"{form_field.name}: constraint {form_field.constraint!r} is not a conjunction of"
                " bounds on '.', which is all the generator turns into a range check"
            )
        bounds.append((match[1], match[2]))
    return bounds


def _interview_date(form_field: Field) -> gxe.Expectation:
    column = quote_identifier(form_field.name)
    parsed = f"CAST(TRY_STRPTIME({column}, '%Y-%m-%d') AS DATE)"
    in_range = (
        f"{parsed} BETWEEN DATE '{EARLIEST_INTERVIEW_DATE}' AND getvariable('{MAX_DATE_PARAMETER}')"
    )
    rule = f"date from {EARLIEST_INTERVIEW_DATE} to {MAX_DATE_PARAMETER}"
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=(
            f"SELECT {column} FROM {{batch}} "
            f"WHERE {column} IS NOT NULL AND NOT coalesce({in_range}, false)"
        ),
        description=f"{form_field.name}: a YYYY-MM-DD {rule}",
        **_kwargs(form_field.name, check=f"{form_field.name}: {rule}", row_level=True),
    )
