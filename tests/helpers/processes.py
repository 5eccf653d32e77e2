"""Whether a process has ended, for tests that kill a parent and watch its children."""

from __future__ import annotations

import time
from pathlib import Path


def is_gone(pid: int) -> bool:
    """No such process, or only its zombie (an init that does not reap may keep that)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def wait_until_gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_gone(pid):
            return True
        time.sleep(0.05)
    return False
