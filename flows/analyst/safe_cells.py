"""Cells that are safe to open in a spreadsheet: text never starts a formula.

A spreadsheet evaluates a cell that begins with `=`, `+`, `-` or `@` (and, after a tab or
a carriage return, whatever follows), so a landing file named `=HYPERLINK(...)` would
become a live link in an analyst's Excel. As OWASP recommends against CSV injection, such
text is prefixed with a single quote; numbers, dates and booleans stay what they are (a
negative count is a number, not text).
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Control characters that XLSX (XML 1.0) cannot hold at all; openpyxl refuses them.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it but never evaluates it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell(value: object) -> object:
    """A value for a CSV or XLSX cell: text neutralised, anything else unchanged."""
    return neutralise(value) if isinstance(value, str) else value


def xlsx_text(text: str) -> str:
    """Neutralised text that XLSX can store: characters it cannot hold become U+FFFD."""
    return _XLSX_ILLEGAL.sub("\ufffd", neutralise(text))
