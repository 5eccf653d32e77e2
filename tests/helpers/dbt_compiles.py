"""Counting the times `dbt docs generate` compiles the project."""

from __future__ import annotations

import pytest


class DocsCompiles:
    """Counts the compiles that `docs generate` runs: it compiles every node unless told
    --no-compile (GenerateTask calls CompileTask.run, which builds and runs inherit too)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from dbt.task.compile import CompileTask
        from dbt.task.docs.generate import GenerateTask

        self.count = 0
        real = CompileTask.run

        def counting(task: CompileTask) -> object:
            if isinstance(task, GenerateTask):
                self.count += 1
            return real(task)

        monkeypatch.setattr(CompileTask, "run", counting)
