"""Translate the XLSForm's rules (relevance, constraints, choice filters) into DuckDB SQL.

Only the subset of the XLSForm expression language that the form uses is supported:
`${field}`, `.`, string and number literals, comparisons, `and`/`or`/`not`, parentheses
and `selected(${field}, 'value')`. Anything else raises `UnsupportedExpression`, so a form
change that needs more is loud at start-up rather than silently mis-validated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flows.form.xlsform import Form
from flows.sql import quote_literal

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\})
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<paren>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)
_LOGICAL_WORDS = {"and": "AND", "or": "OR", "not": "NOT"}


class UnsupportedExpression(ValueError):
    pass


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise UnsupportedExpression(f"cannot parse {expression!r} at {position}")
        kind = next(
            k for k in ("ref", "string", "number", "op", "paren", "word", "dot") if match[k]
        )
        tokens.append((kind, match["name"] if kind == "ref" else match[kind]))
        position = match.end()
    return tokens


def translate(
    expression: str,
    reference: Callable[[str], str],
    current_value: str | None = None,
) -> str:
    """Translate one XLSForm expression to a SQL boolean expression.

    `reference(name)` gives the SQL for `${name}` (as text, '' when missing);
    `current_value` the SQL for `.` (as a number, used by constraints).
    """
    tokens = _tokens(expression)
    out: list[str] = []
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        if kind == "word" and text == "selected":
            out.append(_translate_selected(tokens[index : index + 6], reference, expression))
            index += 6
            continue
        if kind == "ref":
            out.append(reference(text))
        elif kind == "string":
            out.append(quote_literal(text[1:-1]))
        elif kind == "number":
            out.append(text)
        elif kind == "op":
            out.append("<>" if text == "!=" else text)
        elif kind == "paren":
            out.append(text)
        elif kind == "word" and text in _LOGICAL_WORDS:
            out.append(_LOGICAL_WORDS[text])
        elif kind == "dot":
            if current_value is None:
                raise UnsupportedExpression(f"'.' outside a constraint in {expression!r}")
            out.append(current_value)
        else:
            raise UnsupportedExpression(f"unsupported token {text!r} in {expression!r}")
        index += 1
    return "(" + " ".join(out) + ")"


def _translate_selected(
    tokens: list[tuple[str, str]], reference: Callable[[str], str], expression: str
) -> str:
    shape = [kind for kind, _ in tokens]
    if shape != ["word", "paren", "ref", "paren", "string", "paren"]:
        raise UnsupportedExpression(f"unsupported selected() call in {expression!r}")
    field_sql = reference(tokens[2][1])
    return f"contains(' ' || {field_sql} || ' ', {quote_literal(' ' + tokens[4][1][1:-1] + ' ')})"


@dataclass(frozen=True)
class ChoiceFilter:
    """`attribute = ${field}` or `attribute = 'literal'`: the only shapes the form uses."""

    attribute: str
    field: str | None
    literal: str | None


def parse_choice_filter(form: Form, list_name: str, choice_filter: str) -> ChoiceFilter:
    match = re.fullmatch(r"\s*(\w+)\s*=\s*(?:\$\{(\w+)\}|'([^']*)')\s*", choice_filter)
    if not match:
        raise UnsupportedExpression(f"unsupported choice_filter {choice_filter!r}")
    attribute, field_name, literal = match.groups()
    if not any(attribute in c.attributes for c in form.choices[list_name]):
        raise UnsupportedExpression(f"choice list {list_name!r} has no column {attribute!r}")
    return ChoiceFilter(attribute, field_name, literal)
