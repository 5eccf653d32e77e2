"""Say what a long stage is doing, on stderr, so a terminal shows progress and stdout
stays clean for summaries and query results.

A stage says what it starts with `say`. A stage with many items (ingest: one per landing file)
reports each with `step`: a progress bar when stderr is a terminal (rich), nothing otherwise;
a line per item with `configure(verbose=True)` (`fmw refresh --verbose`). A failed item is
always said: it is an exception the reader must see.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from flows.step import Step

_started = time.monotonic()


class _Progress:
    def __init__(self) -> None:
        self.verbose = False
        self._bar: Any = None  # rich.progress.Progress while a stage's bar is shown
        self._task: Any = None
        self._stage: str | None = None

    def say(self, message: str) -> None:
        self._close_bar()
        elapsed = time.monotonic() - _started
        sys.stderr.write(f"[fmw {elapsed:6.1f}s] {message}\n")
        sys.stderr.flush()

    def step(self, step: Step) -> None:
        if self.verbose or step.outcome == "failed":
            self.say(str(step))
        elif sys.stderr.isatty():
            self._advance(step)
        if step.position == step.total and self._stage == step.stage:
            self._close_bar()

    def _advance(self, step: Step) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        if self._stage != step.stage:
            self._close_bar()
            self._bar = Progress(
                TextColumn("[fmw] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[item]}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(step.stage, total=step.total, item="")
            self._stage = step.stage
        self._bar.update(self._task, completed=step.position, item=step.item)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar, self._task, self._stage = None, None, None


_progress = _Progress()


def configure(verbose: bool) -> None:
    _progress.verbose = verbose


def say(message: str) -> None:
    _progress.say(message)


def step(item: Step) -> None:
    _progress.step(item)
