"""One item of a long stage done (a landing file ingested, a dbt node built), as the stage
reports it for progress (flows.ops.progress shows it): `ingest fms 3/8: file.csv: loaded`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    stage: str
    position: int
    total: int
    item: str
    outcome: str

    def __str__(self) -> str:
        return f"{self.stage} {self.position}/{self.total}: {self.item}: {self.outcome}"
