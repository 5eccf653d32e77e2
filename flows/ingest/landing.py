"""The landing zone as the warehouse sees it: files per source, in arrival order."""

from __future__ import annotations

import hashlib
import os
import stat
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
        """The name as recorded: a name that is not UTF-8 (Linux allows any bytes) keeps its
        other bytes as `\\xff` escapes, the same every run."""
        return os.fsencode(self.path.name).decode("utf-8", "backslashreplace")

    @property
    def shown_name(self) -> str:
        """The name as it may be printed or logged: control characters escaped."""
        return printable(self.name)

    def refusal(self, landing_dir: Path) -> str | None:
        """Why the file must not be opened at all, or None: the landing zone holds files,
        and a link out of it (or a pipe, which would block the reader) is never followed."""
        if self.path.is_symlink():
            target = Path(os.path.realpath(self.path))
            root = Path(os.path.realpath(landing_dir))
            if not target.is_relative_to(root):
                return "a symbolic link to a path outside the landing zone: refused, not followed"
            if not target.exists():
                return "a symbolic link to nothing (its target does not exist)"
        if not stat.S_ISREG(self.path.stat().st_mode):
            return "not a regular file (a directory link, pipe, socket or device): not read"
        return None


@dataclass(frozen=True)
class LoadCounts:
    """What happened to a file's rows: rows_read = loaded + duplicate + quarantined."""

    rows_read: int
    rows_loaded: int
    rows_duplicate: int
    rows_quarantined: int


def printable(text: str) -> str:
    """`text` with its control characters (newline, escape, ...) written as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _is_landing_file(path: Path) -> bool:
    """Every entry but hidden files, Office lock files and folders; links and pipes are
    listed so that they get a verdict (see LandingFile.refusal)."""
    if path.name.startswith((".", "~$")):
        return False
    return path.is_symlink() or not path.is_dir()


def landing_files(landing_dir: Path, source: str) -> list[LandingFile]:
    """The source's files in arrival order: modification time, then name."""
    folder = landing_dir / source
    if not folder.is_dir():
        return []
    paths = sorted(
        (p for p in folder.iterdir() if _is_landing_file(p)),
        key=lambda p: (p.lstat().st_mtime_ns, p.name),
    )
    return [LandingFile(source, p, rank) for rank, p in enumerate(paths, start=1)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
