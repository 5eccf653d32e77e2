"""dbt's parse of the project, shared by the data directories of one machine.

dbt parses the project into `partial_parse.msgpack` in its target directory (~2.5 s on two
cores) and reuses that file while the project's files, the vars, the profile's connection
values and dbt's version stay the same; it checks every one of them itself and parses again
what changed. A data directory's first build has no such file, so it would parse the whole
project: instead it starts from the last parse any data directory of this checkout wrote on
this machine, kept in the user's cache directory. The file describes the project's code
only, never warehouse data. Losing or failing to write it costs a full parse, nothing else.
"""

from __future__ import annotations

import contextlib
import filecmp
import hashlib
import os
import shutil
from pathlib import Path

from flows.config import DBT_PROJECT_DIR, Settings

PARSE_FILE = "partial_parse.msgpack"


def _cache_root() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "fmw" / "dbt-parse"


def seed_path(target: str) -> Path:
    """Where this checkout's last parse for the dbt target `target` is kept: one per project
    folder, as dbt's parse holds the project's absolute paths."""
    from dbt.version import __version__ as dbt_version

    key = hashlib.sha256(f"{DBT_PROJECT_DIR}\n{target}\n{dbt_version}".encode()).hexdigest()
    return _cache_root() / key[:16] / PARSE_FILE


def _target_name(settings: Settings) -> str:
    return "internal" if settings.lake is None else "lake"


def seed_parse(settings: Settings) -> None:
    """Give a target directory without a parse of its own the machine's last one."""
    parse = settings.dbt_target_dir / PARSE_FILE
    seed = seed_path(_target_name(settings))
    if parse.exists() or not seed.is_file():
        return
    with contextlib.suppress(OSError):
        settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, parse)


def keep_parse(settings: Settings) -> None:
    """After dbt ran: keep its parse as the machine's seed, unless the seed is the same."""
    parse = settings.dbt_target_dir / PARSE_FILE
    seed = seed_path(_target_name(settings))
    if not parse.is_file():
        return
    with contextlib.suppress(OSError):
        if seed.is_file() and filecmp.cmp(parse, seed, shallow=False):
            return
        seed.parent.mkdir(parents=True, exist_ok=True)
        incoming = seed.with_name(f"{PARSE_FILE}.{os.getpid()}")
        shutil.copyfile(parse, incoming)
        os.replace(incoming, seed)  # another process reads the old file or the new one
