"""Quoting for the SQL this project writes: identifiers and literals it did not choose.

Values that come from outside (file names, paths, header names) go through these or are
passed as parameters; they are never pasted into SQL as they are.
"""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(quote_literal(v) for v in values) + "]"
