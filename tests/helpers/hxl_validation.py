"""Checking exports with libhxl, the HXL reference implementation (a dev dependency)."""

from __future__ import annotations

from pathlib import Path

import hxl


def validate_hxl(path: Path) -> dict:
    """libhxl's validation report for an exported file (`is_valid` says if it passed)."""
    return hxl.validate(hxl.data(str(path), hxl.InputOptions(allow_local=True)))
