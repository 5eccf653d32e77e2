"""Say what a long stage is doing, on stderr, so a terminal shows progress and stdout
stays clean for summaries and query results."""

from __future__ import annotations

import sys
import time

_started = time.monotonic()


def say(message: str) -> None:
    elapsed = time.monotonic() - _started
    sys.stderr.write(f"[fmw {elapsed:6.1f}s] {message}\n")
    sys.stderr.flush()
