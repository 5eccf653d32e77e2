"""The landing zone as the warehouse sees it: files per source, in arrival order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SOURCES = ("fms", "fmr", "stories", "reference")


@dataclass(frozen=True)
class LandingFile:
    source: str
    path: Path
    arrival_rank: int

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class LoadCounts:
    """What happened to a file's rows: rows_read = loaded + duplicate + quarantined."""

    rows_read: int
    rows_loaded: int
    rows_duplicate: int
    rows_quarantined: int


def _is_landing_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "~$"))


def landing_files(landing_dir: Path, source: str) -> list[LandingFile]:
    """The source's files in arrival order: modification time, then name."""
    folder = landing_dir / source
    if not folder.is_dir():
        return []
    paths = sorted(
        (p for p in folder.iterdir() if _is_landing_file(p)),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    return [LandingFile(source, p, rank) for rank, p in enumerate(paths, start=1)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
