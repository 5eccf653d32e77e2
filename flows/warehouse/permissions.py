"""Who may read the data directory: `internal/` its owner only (or one group), `published/`
every local user.

`internal/` holds respondent-level rows, quarantined records, GX Data Docs with raw
values, Prefect's state and dbt's logs. Many tools write there (DuckDB's .wal and spill
files, dbt, Prefect's server, GX), each with its own open() and the process umask, so a
refresh runs under a restrictive umask (inherited by its child processes) and tightens
the whole tree at its start and end, which also fixes data directories written by older
code. Published files are given their modes explicitly before they are renamed into
place, whatever the umask.
"""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flows.config import Settings

READABLE_DIR_MODE = 0o755
READABLE_FILE_MODE = 0o644
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


class PermissionSetupError(RuntimeError):
    """The internal directory's permissions cannot be set as configured."""


@dataclass(frozen=True)
class InternalAccess:
    """Modes of `internal/`: owner-only, or shared read-only with one group.

    With a group, directories carry the setgid bit so that files created in them belong to
    the group whatever the creating process's own group is.
    """

    gid: int | None = None
    group: str | None = None

    @property
    def dir_mode(self) -> int:
        return 0o2750 if self.gid is not None else 0o700

    @property
    def file_mode(self) -> int:
        return 0o640 if self.gid is not None else 0o600

    @property
    def umask(self) -> int:
        return 0o027 if self.gid is not None else 0o077


def internal_access(group: str | None) -> InternalAccess:
    """The access FMW_INTERNAL_GROUP (Settings.internal_group) asks for."""
    if not group:
        return InternalAccess()
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise PermissionSetupError(
            f"FMW_INTERNAL_GROUP names the group {group!r}, which does not exist on this "
            "machine: create it or unset FMW_INTERNAL_GROUP"
        ) from None
    return InternalAccess(gid=gid, group=group)


@contextmanager
def process_umask(mask: int) -> Iterator[None]:
    """Run the block (and any process it starts) under `mask`; restore the old one after."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _restrict(path: Path, mode: int, access: InternalAccess) -> None:
    try:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode):
            return  # a link's target is restricted where it lives, if under internal/
        if access.gid is not None and status.st_gid != access.gid:
            os.chown(path, -1, access.gid, follow_symlinks=False)
        if stat.S_IMODE(status.st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        return  # removed meanwhile (a candidate, a spill file)
    except PermissionError as error:
        raise PermissionSetupError(
            f"cannot give {path} mode {mode:o}"
            + (f" and group {access.group}" if access.group else "")
            + f": {error.strerror}; the user running the refresh must own it"
            + (f" and be a member of {access.group}" if access.group else "")
        ) from error


def restrict_tree(root: Path, access: InternalAccess) -> None:
    """Give `root` and everything under it the internal modes (and group); links are not
    followed."""
    if not root.is_dir():
        return
    root = root.resolve()
    _restrict(root, access.dir_mode, access)
    for folder, directories, files in os.walk(root):
        for name in directories:
            _restrict(Path(folder) / name, access.dir_mode, access)
        for name in files:
            _restrict(Path(folder) / name, access.file_mode, access)


def readable_dir(path: Path) -> Path:
    """Make `path` (and its missing parents) a folder every local user may read.

    A folder that exists keeps its mode, less write access for group and others: an
    operator may have narrowed it to the analysts' group on purpose.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, READABLE_DIR_MODE)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & _WRITABLE_BY_OTHERS:
        os.chmod(path, mode & ~_WRITABLE_BY_OTHERS)
    return path


def readable_file(path: Path) -> Path:
    """Give a file about to be published mode 0644: readable by all, writable by its owner."""
    os.chmod(path, READABLE_FILE_MODE)
    return path


def _no_write_for_others(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for path in (Path(folder), *(Path(folder) / name for name in files)):
            status = path.lstat()
            if not stat.S_ISLNK(status.st_mode) and status.st_mode & _WRITABLE_BY_OTHERS:
                os.chmod(path, stat.S_IMODE(status.st_mode) & ~_WRITABLE_BY_OTHERS)


def prepare_data_dir(
    data_dir: Path, internal_dir: Path, published_dir: Path, access: InternalAccess
) -> None:
    """Create the data directory's folders with their modes, and tighten `internal/`."""
    readable_dir(data_dir)
    readable_dir(published_dir)
    _no_write_for_others(published_dir)  # a published file nobody else may replace
    if not internal_dir.exists():
        internal_dir.mkdir()
    restrict_tree(internal_dir, access)


def prepare(settings: Settings) -> InternalAccess:
    """The data directory's folders in place with their modes; the access of internal/."""
    access = internal_access(settings.internal_group)
    prepare_data_dir(settings.data_dir, settings.internal_dir, settings.published_dir, access)
    return access


@contextmanager
def internal_kept_private(settings: Settings) -> Iterator[InternalAccess]:
    """Run a refresh so that what it and its children (the quality worker) create under
    internal/ is private from the start; tighten the tree again after, for files written by
    processes started elsewhere (a Prefect server) or copied with their own modes (GX)."""
    access = prepare(settings)
    with process_umask(access.umask):
        try:
            yield access
        finally:
            restrict_tree(settings.internal_dir, access)
