"""bench/results.md is shared: bench/run.py writes its body, other scripts own one section each.

A section is fenced by `<!-- begin NAME -->` and `<!-- end NAME -->` lines, so that rerunning
bench/run.py keeps bench/lake.py's figures and rerunning bench/lake.py replaces only its own.
"""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"^<!-- begin (?P<name>\S+) -->\n.*?^<!-- end (?P=name) -->\n?", re.M | re.S)


def sections(text: str) -> dict[str, str]:
    """The fenced sections of a results file, by name, fences included."""
    return {found["name"]: found[0].rstrip("\n") + "\n" for found in _SECTION.finditer(text)}


def fenced(name: str, body: str) -> str:
    return f"<!-- begin {name} -->\n{body.rstrip()}\n<!-- end {name} -->\n"


def write_body(path: Path, body: str) -> None:
    """Write bench/run.py's body, keeping every section already in the file after it."""
    kept = sections(path.read_text()) if path.is_file() else {}
    path.write_text("\n".join([body.rstrip() + "\n", *kept.values()]))


def write_section(path: Path, name: str, body: str) -> None:
    """Replace section `name` in the file (or add it at the end), leaving the rest as it is."""
    text = path.read_text() if path.is_file() else ""
    section = fenced(name, body)
    if name in sections(text):
        text = _SECTION.sub(lambda found: section if found["name"] == name else found[0], text)
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + section
    path.write_text(text)
