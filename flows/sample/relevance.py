"""The form's relevance rules, evaluated on a generated answer set."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from flows.form.xlsform import Form
from flows.sample.realism import _NEW_VERSION_KEY

_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\$\{\w+\})|(?P<string>'[^']*')|(?P<op>!=|=)|(?P<word>and|or|not)\b"
    r"|(?P<call>selected\()|(?P<punct>[(),]))"
)


def _selected(value: str, option: str) -> bool:
    return option in value.split()


def _translate_relevance(expression: str) -> str:
    """XLSForm relevance (the subset this form uses) as a Python expression over `v`."""
    out: list[str] = []
    text = expression.strip()
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise ValueError(f"unsupported relevance expression in the form: {expression!r}")
        pos = match.end()
        kind, token = match.lastgroup, match[match.lastgroup]
        if kind == "ref":
            out.append(f"v.get({token[2:-1]!r}, '')")
        elif kind == "op":
            out.append("==" if token == "=" else "!=")
        elif kind == "call":
            out.append("_selected(")
        else:
            out.append(token)
    return " ".join(out)


def _compile_relevance(expressions: tuple[str, ...]) -> Callable[[Mapping[str, str]], bool]:
    source = " and ".join(f"({_translate_relevance(e)})" for e in expressions)
    function: Callable[[Mapping[str, str]], bool] = eval(  # tokens checked above
        f"lambda v: {source}", {"__builtins__": {}, "_selected": _selected}
    )
    return function


def _answer_keys(form: Form) -> list[str]:
    """Every answer a submission can hold: the form's fields and the newer version's question."""
    return [f.name for f in form.fields] + [_NEW_VERSION_KEY]


def _relevance_groups(form: Form) -> list[tuple[Callable[[Mapping[str, str]], bool], list[str]]]:
    """Fields grouped by their relevance, in form order of each group's first field.

    Every field a condition refers to comes earlier in the form, so applying the groups in
    this order leaves each condition reading answers that are already final.
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for f in form.fields:
        if f.relevant:
            groups.setdefault(f.relevant, []).append(f.name)
    return [(_compile_relevance(condition), names) for condition, names in groups.items()]
