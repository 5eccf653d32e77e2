"""The XLSForm expression subset translates to DuckDB SQL that means the same thing."""

from __future__ import annotations

import duckdb
import pytest

from flows.form.expressions import UnsupportedExpression, parse_choice_filter, translate


def _evaluate(expression: str, values: dict[str, str], current: float | None = None) -> bool:
    sql = translate(
        expression,
        reference=lambda name: f"coalesce({values.get(name)!r}, '')" if name in values else "''",
        current_value=None if current is None else repr(current),
    )
    return duckdb.sql(f"SELECT {sql}").fetchone()[0]


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("${consent} = 'yes'", {"consent": "yes"}, True),
        ("${consent} = 'yes'", {"consent": "no"}, False),
        ("${consent} = 'yes'", {}, False),
        (
            "${consent} = 'yes' and ${direction} = 'inflow'",
            {"consent": "yes", "direction": "inflow"},
            True,
        ),
        ("${a} = 'x' or ${a} = 'y'", {"a": "y"}, True),
        ("${expected_income} != ''", {"expected_income": "300"}, True),
        ("${expected_income} != ''", {}, False),
        ("selected(${cost_paid_by}, 'loan')", {"cost_paid_by": "savings loan"}, True),
        ("selected(${cost_paid_by}, 'loan')", {"cost_paid_by": "loans"}, False),
    ],
)
def test_relevance_expressions_evaluate_like_odk(expression, values, expected):
    assert _evaluate(expression, values) is expected


@pytest.mark.parametrize(("age", "ok"), [(14, True), (80, True), (13, False), (81, False)])
def test_constraints_use_dot_for_the_answer(age, ok):
    assert _evaluate(". >= 14 and . <= 80", {}, current=age) is ok


def test_unsupported_functions_are_refused_loudly():
    with pytest.raises(UnsupportedExpression):
        translate("count-selected(${x}) > 2", reference=lambda name: "''")


def test_choice_filters_name_the_attribute_and_the_field(form):
    rule = parse_choice_filter(form, "adm2", "adm1 = ${origin_adm1}")
    assert (rule.attribute, rule.field, rule.literal) == ("adm1", "origin_adm1", None)
    rule = parse_choice_filter(form, "adm1", "country = 'LAO'")
    assert (rule.attribute, rule.field, rule.literal) == ("country", None, "LAO")
