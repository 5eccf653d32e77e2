"""What a loader raises when a landing file cannot be read at all."""

from __future__ import annotations


class UnreadableFile(ValueError):
    """The file cannot be read at all (truncated, not UTF-8, invalid JSON, wrong form)."""
