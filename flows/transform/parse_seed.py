"""dbt's parse of the project, shared by the data directories of one machine.

dbt parses the project into `partial_parse.msgpack` in its target directory (~2.5 s on two
cores) and reuses that file while the project's files, the vars, the profile's connection
values and dbt's version stay the same; it checks every one of them itself and parses again
what changed. A data directory's first build has no such file, so it would parse the whole
project: instead it starts from the last parse any data directory of this checkout wrote on
this machine, kept in the user's cache directory, readable by the user only. The file
describes the project's code and the build's vars (k, the memory limit), never warehouse
data. On a lake the vars name the catalog, so a lake's parse is never kept outside its data
directory. Losing or failing to write the seed costs a full parse, nothing else.
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


def seed_path() -> Path:
    """Where this checkout's last parse is kept: one per project folder, as dbt's parse
    holds the project's absolute paths, and per dbt version."""
    from dbt.version import __version__ as dbt_version

    key = hashlib.sha256(f"{DBT_PROJECT_DIR}\n{dbt_version}".encode()).hexdigest()
    return _cache_root() / key[:16] / PARSE_FILE


def seed_parse(settings: Settings) -> None:
    """Give a target directory without a parse of its own the machine's last one."""
    if settings.lake is not None:
        return
    parse = settings.dbt_target_dir / PARSE_FILE
    seed = seed_path()
    if parse.exists() or not seed.is_file():
        return
    with contextlib.suppress(OSError):
        settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, parse)


def keep_parse(settings: Settings) -> None:
    """After dbt ran: keep its parse as the machine's seed, unless the seed is the same."""
    parse = settings.dbt_target_dir / PARSE_FILE
    if settings.lake is not None or not parse.is_file():
        return
    seed = seed_path()
    incoming = seed.with_name(f"{PARSE_FILE}.{os.getpid()}")
    try:
        if seed.is_file() and filecmp.cmp(parse, seed, shallow=False):
            return
        seed.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(parse, incoming)
        incoming.chmod(0o600)
        os.replace(incoming, seed)  # another process reads the old file or the new one
    except OSError:
        with contextlib.suppress(OSError):
            incoming.unlink(missing_ok=True)
