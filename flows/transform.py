"""Run the dbt project in-process against the internal database."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import duckdb

from flows.config import DBT_PROJECT_DIR, Settings
from flows.form import FORM_PATH
from flows.warehouse import connect

REFERENCE_DIR = FORM_PATH.parent
# Installed packages whose version changes what dbt writes (pycountry: the reference
# countries ingest loads; the rest: SQL, catalog and the docs site's page).
_TOOLS = ("pycountry", "dbt-core", "dbt-duckdb", "duckdb")


class DbtBuildFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class DbtResult:
    name: str
    resource_type: str
    status: str
    message: str | None


def _dbt_args(settings: Settings, command: str) -> list[str]:
    args = [
        command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(settings.dbt_target_dir),
        "--log-path",
        str(settings.internal_dir / "dbt_logs"),
        "--vars",
        json.dumps({"k": settings.suppression_k}),
        "--quiet",
    ]
    if command == "build":
        # dbt unit tests check the models' SQL on fixed inputs, not the night's data:
        # pytest runs them on every change (tests/test_dbt_project.py), so the nightly
        # build leaves them out and runs the models, seeds and data tests only.
        args += ["--exclude-resource-type", "unit_test"]
        # Nothing reads the build's JSON artifacts (run_results, manifest): the flow takes
        # the results from the runner and the docs site is generated separately. Writing
        # them cost ~2 s of every build (the manifest twice); the dbt log keeps each node.
        args.append("--no-write-json")
        if settings.full_refresh:
            args.append("--full-refresh")
    return args


def run_dbt(settings: Settings, command: str = "build") -> list[DbtResult]:
    """Run `dbt <command>`; raise DbtBuildFailed naming every failed node."""
    from dbt.cli.main import dbtRunner

    os.environ["FMW_INTERNAL_DB"] = str(settings.internal_db)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    settings.internal_dir.mkdir(parents=True, exist_ok=True)
    outcome = dbtRunner().invoke(_dbt_args(settings, command))
    if outcome.exception is not None:
        raise DbtBuildFailed(f"dbt {command} could not run: {outcome.exception}")
    results = [
        DbtResult(
            name=r.node.name,
            resource_type=str(r.node.resource_type),
            status=str(r.status),
            message=r.message,
        )
        for r in (outcome.result or [])
    ]
    failed = [r for r in results if r.status in {"error", "fail", "runtime error"}]
    if not outcome.success or failed:
        details = "; ".join(f"{r.name}: {r.status} ({r.message})" for r in failed)
        raise DbtBuildFailed(f"dbt {command} failed: {details or 'see the dbt log'}")
    return results


def generate_docs(settings: Settings) -> Path:
    """Run `dbt docs generate --static` against the internal database; return the site.

    The site is one self-contained file, `static_index.html` in the dbt target directory,
    with the manifest and catalog inlined: it opens from disk in a browser, offline. It
    documents every model (lineage, SQL, column descriptions) and holds no warehouse
    data. Raise DbtBuildFailed when dbt fails or writes no site.
    """
    from dbt.cli.main import dbtRunner

    os.environ["FMW_INTERNAL_DB"] = str(settings.internal_db)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    settings.internal_dir.mkdir(parents=True, exist_ok=True)
    site = settings.dbt_target_dir / "static_index.html"
    site.unlink(missing_ok=True)
    outcome = dbtRunner().invoke(["docs", *_dbt_args(settings, "generate"), "--static"])
    if outcome.exception is not None or not outcome.success or not site.is_file():
        reason = outcome.exception or "see the dbt log"
        raise DbtBuildFailed(f"dbt docs generate failed: {reason}")
    return site


def _source_files(folder: Path) -> list[Path]:
    skipped = {"target", "logs", "__pycache__"}
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not skipped & set(path.relative_to(folder).parts)
    )


def _raw_data_version(settings: Settings) -> str:
    """Changes whenever a landing file changed the raw layer (new or changed rows)."""
    if not settings.internal_db.exists():
        return "empty"
    with connect(settings.internal_db) as connection:
        known = connection.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE schema_name = 'ops' AND table_name = 'file_loads'"
        ).fetchone()[0]
        if not known:
            return "empty"
        count, latest = connection.execute(
            "SELECT count(*), max(loaded_at) FROM ops.file_loads "
            "WHERE status = 'loaded' AND rows_loaded > 0"
        ).fetchone()
    return f"{count}@{latest}"


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


def dbt_fingerprint(settings: Settings) -> str:
    """Everything a dbt build's result depends on: the raw data's version and the code."""
    raw, code = _raw_data_version(settings), code_fingerprint(settings)
    return hashlib.sha256(f"raw={raw};code={code}".encode()).hexdigest()


def _builds_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("CREATE SCHEMA IF NOT EXISTS ops")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS ops.dbt_builds (fingerprint VARCHAR, built_at TIMESTAMP)"
    )
    connection.execute(
        "CREATE TABLE IF NOT EXISTS ops.dbt_docs (fingerprint VARCHAR, generated_at TIMESTAMP)"
    )


def _forget(settings: Settings, table: str) -> None:
    with connect(settings.internal_db) as connection:
        _builds_table(connection)
        connection.execute(f"DELETE FROM ops.{table}")


def _record(settings: Settings, table: str, fingerprint: str) -> None:
    with connect(settings.internal_db) as connection:
        _builds_table(connection)
        connection.execute("BEGIN")
        connection.execute(f"DELETE FROM ops.{table}")
        connection.execute(
            f"INSERT INTO ops.{table} VALUES (?, current_timestamp::TIMESTAMP)", [fingerprint]
        )
        connection.execute("COMMIT")


def _recorded(settings: Settings, table: str) -> str | None:
    with connect(settings.internal_db) as connection:
        _builds_table(connection)
        row = connection.execute(f"SELECT fingerprint FROM ops.{table}").fetchone()
    return None if row is None else str(row[0])


def forget_dbt_build(settings: Settings) -> None:
    """Before a build: a build that dies half-way must not look current."""
    _forget(settings, "dbt_builds")


def record_dbt_build(settings: Settings, fingerprint: str) -> None:
    _record(settings, "dbt_builds", fingerprint)


def dbt_build_is_current(settings: Settings) -> bool:
    """True when the last complete build saw this exact raw data, project, references and
    k, and its docs site is still there: building again would change nothing."""
    if not (settings.dbt_target_dir / "static_index.html").is_file():
        return False
    return _recorded(settings, "dbt_builds") == dbt_fingerprint(settings)


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
