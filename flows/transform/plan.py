"""Which part of the dbt project a refresh must build, and what the last build saw.

A build is current when neither the project's code (models, seeds, reference files, tool
versions, k) nor any source's data changed since it was recorded. Otherwise only what the
changed sources feed is built, or everything after a code change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import duckdb

from flows.config import DBT_PROJECT_DIR, Settings
from flows.form.xlsform import FORM_PATH
from flows.sql import quote_identifier
from flows.warehouse.connection import transaction
from flows.warehouse.lake import connect_internal, internal_exists
from flows.warehouse.schema import create_table

REFERENCE_DIR = FORM_PATH.parent
# Installed packages whose version changes what dbt writes (pycountry: the reference
# countries ingest loads; the rest: SQL, catalog and the docs site's page).
_TOOLS = ("pycountry", "dbt-core", "dbt-duckdb", "duckdb")


def _source_files(folder: Path) -> list[Path]:
    skipped = {"target", "logs", "__pycache__"}
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not skipped & set(path.relative_to(folder).parts)
    )


# The dbt source that reads each landing source's rows (ops.file_loads.source).
DBT_SOURCE_OF_LANDING_SOURCE = {
    "fms": "fms",
    "fmr": "fmr",
    "stories": "stories",
    "reference": "fx",  # the exchange-rate overrides, reference/fx_rates.csv
}
# The dbt source that reads the reference schema, which ingest rebuilds on every run from
# the form and pycountry.
REFERENCE_SOURCE = "reference"
DBT_SOURCES = frozenset({*DBT_SOURCE_OF_LANDING_SOURCE.values(), REFERENCE_SOURCE})


def _data_versions(settings: Settings) -> dict[str, str]:
    """Per dbt source, a version that changes whenever its data changed: for a landing
    source, whenever one of its files changed the raw layer (new or changed rows); for the
    reference schema, whenever its content did (a new form or pycountry, or new code that
    builds it)."""
    if not internal_exists(settings):
        return {}
    with connect_internal(settings) as connection:
        known = connection.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE schema_name = 'ops' AND table_name = 'file_loads'"
        ).fetchone()[0]
        if not known:
            return {}
        rows = connection.execute(
            "SELECT source, count(*), max(loaded_at) FROM ops.file_loads "
            "WHERE status = 'loaded' AND rows_loaded > 0 GROUP BY source"
        ).fetchall()
        versions = {
            DBT_SOURCE_OF_LANDING_SOURCE.get(source, f"landing:{source}"): f"{count}@{latest}"
            for source, count, latest in rows
        }
        versions[REFERENCE_SOURCE] = _reference_content_hash(connection)
    return versions


def _reference_content_hash(connection: duckdb.DuckDBPyConnection) -> str:
    tables = connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'reference' ORDER BY 1"
    ).fetchall()
    digest = hashlib.sha256()
    for (table,) in tables:
        rows = connection.execute(
            "SELECT coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)),"
            f" '') FROM reference.{quote_identifier(table)} AS t"
        ).fetchone()[0]
        digest.update(f"{table}\n{rows}\n".encode())
    return digest.hexdigest()


def code_fingerprint(settings: Settings) -> str:
    """Everything but the data that dbt's output depends on: the dbt project, the
    reference files ingest loads (the form, place aliases), pycountry, k and the versions
    of dbt and DuckDB. The docs site depends on this alone (dbt-duckdb's catalog holds no
    table statistics)."""
    versions = ";".join(f"{name}={version(name)}" for name in _TOOLS)
    digest = hashlib.sha256(f"k={settings.suppression_k};{versions}".encode())
    for folder in (DBT_PROJECT_DIR, REFERENCE_DIR):
        for path in _source_files(folder):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class BuildInputs:
    """Everything a dbt build's output depends on: the code, and each dbt source's data."""

    code: str
    data: dict[str, str]

    def to_json(self) -> str:
        return json.dumps({"code": self.code, "data": self.data}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BuildInputs | None:
        try:
            recorded = json.loads(text)
            return cls(str(recorded["code"]), dict(recorded["data"]))
        except (ValueError, TypeError, KeyError):
            return None  # recorded by an older version: rebuild everything once


def build_inputs(settings: Settings) -> BuildInputs:
    return BuildInputs(code_fingerprint(settings), _data_versions(settings))


@dataclass(frozen=True)
class BuildPlan:
    """Whether dbt must build, and what: `select` empty means the whole project."""

    needed: bool
    select: tuple[str, ...] = ()
    changed_sources: tuple[str, ...] = ()
    # What the plan was made from, for the build to record: taken once, after ingest.
    inputs: BuildInputs | None = field(default=None, compare=False, repr=False)


def plan_dbt_build(settings: Settings) -> BuildPlan:
    """Build only what the data that changed since the last complete build feeds.

    A model whose inputs did not change since that build would come out the same, so it is
    left as it is: new survey rows rebuild the survey models and marts, not the registry's
    or the reference dimensions. Everything is built on a full refresh, when the code
    (project, references, k, tool versions) changed, when no complete build is on record
    (the first, or one killed half-way), and when the docs site is missing.
    """
    now = build_inputs(settings)
    everything = BuildPlan(needed=True, inputs=now)
    recorded = _recorded(settings, "dbt_builds")
    last = BuildInputs.from_json(recorded) if recorded else None
    site = settings.dbt_target_dir / "static_index.html"
    if settings.full_refresh or last is None or not site.is_file() or now.code != last.code:
        return everything
    sources = now.data.keys() | last.data.keys()
    changed = sorted(s for s in sources if now.data.get(s) != last.data.get(s))
    if not changed:
        return BuildPlan(needed=False, inputs=now)
    if any(source not in DBT_SOURCES for source in changed):
        return everything
    select = tuple(f"source:{source}+" for source in changed)
    return BuildPlan(needed=True, select=select, changed_sources=tuple(changed), inputs=now)


def _builds_table(connection: duckdb.DuckDBPyConnection) -> None:
    create_table(connection, "ops.dbt_builds")
    create_table(connection, "ops.dbt_docs")


def _forget(settings: Settings, table: str) -> None:
    with connect_internal(settings) as connection:
        _builds_table(connection)
        connection.execute(f"DELETE FROM ops.{table}")


def _record(settings: Settings, table: str, fingerprint: str) -> None:
    with connect_internal(settings) as connection:
        _builds_table(connection)
        with transaction(connection):
            connection.execute(f"DELETE FROM ops.{table}")
            connection.execute(
                f"INSERT INTO ops.{table} VALUES (?, current_timestamp::TIMESTAMP)", [fingerprint]
            )


def _recorded(settings: Settings, table: str) -> str | None:
    with connect_internal(settings) as connection:
        _builds_table(connection)
        row = connection.execute(f"SELECT fingerprint FROM ops.{table}").fetchone()
    return None if row is None else str(row[0])


def forget_dbt_build(settings: Settings) -> None:
    """Before a build: a build that dies half-way must not look current."""
    _forget(settings, "dbt_builds")


def record_dbt_build(settings: Settings, inputs: BuildInputs) -> None:
    """After a build completed: what it saw, taken before it started."""
    _record(settings, "dbt_builds", inputs.to_json())


def forget_dbt_docs(settings: Settings) -> None:
    """Before generating the docs: a site half-written must not look current."""
    _forget(settings, "dbt_docs")


def record_dbt_docs(settings: Settings, code: str) -> None:
    """After the site is written: it documents the code with this fingerprint."""
    _record(settings, "dbt_docs", code)


def dbt_docs_are_current(settings: Settings, code: str) -> bool:
    """True when the docs site on disk was generated from the code with this fingerprint:
    it would come out the same again, whatever data the build has seen since."""
    if not (settings.dbt_target_dir / "static_index.html").is_file():
        return False
    return _recorded(settings, "dbt_docs") == code
