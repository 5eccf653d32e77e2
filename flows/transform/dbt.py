"""Run the dbt project in-process against the internal database."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.config import DBT_PROJECT_DIR, Settings
from flows.step import Step
from flows.transform.parse_seed import keep_parse, seed_parse
from flows.warehouse.lake import INTERNAL, lake_of

if TYPE_CHECKING:
    from dbt.contracts.graph.manifest import Manifest

# The nodes whose SQL the docs site shows, compiled.
_DOCUMENTED_SQL_TYPES = {"model", "test", "snapshot", "analysis"}


class DbtBuildFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class DbtResult:
    name: str
    resource_type: str
    status: str
    message: str | None


def dbt_vars(settings: Settings) -> dict[str, object]:
    """The run's settings that the dbt project reads with var(): k, and in profiles.yml the
    DuckDB memory limit of the build (the same as the flow's own connections)."""
    variables: dict[str, object] = {
        "k": settings.suppression_k,
        "duckdb_memory_limit": settings.duckdb_memory_limit,
    }
    if settings.lake is not None:
        lake = lake_of(settings, INTERNAL)
        variables |= {
            "lake_url": lake.url,
            "lake_data_path": lake.data_path,
            "lake_metadata_schema": lake.metadata_schema,
            "lake_extensions": ",".join(lake.extensions()),
        }
    return variables


def _dbt_args(settings: Settings, command: str, select: tuple[str, ...] = ()) -> list[str]:
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
        json.dumps(dbt_vars(settings)),
        "--quiet",
    ]
    if settings.lake is not None:
        args += ["--target", "lake"]
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
        if select:
            args += ["--select", *select]
    return args


def parse_project(settings: Settings) -> Manifest:
    """The dbt project parsed (from the machine's last parse, flows.transform.parse_seed),
    for `run_dbt` and `generate_docs` to share."""
    from dbt.cli.main import dbtRunner

    with _dbt_session(settings):
        outcome = dbtRunner().invoke([*_dbt_args(settings, "parse"), "--no-write-json"])
    if outcome.exception is not None or not outcome.success or outcome.result is None:
        raise DbtBuildFailed(f"dbt parse failed: {outcome.exception or 'see the dbt log'}")
    return outcome.result


def run_dbt(
    settings: Settings,
    command: str = "build",
    select: tuple[str, ...] = (),
    progress: Callable[[Step], None] = lambda step: None,
    manifest: Manifest | None = None,
) -> list[DbtResult]:
    """Run `dbt <command>` (a build of `select` only, when given); raise DbtBuildFailed
    naming every failed node. Each node finished is reported to `progress`.

    With `manifest` (parse_project), dbt uses it instead of loading the project, and leaves
    each node it ran compiled in it."""
    from dbt.cli.main import dbtRunner

    runner = dbtRunner(manifest=manifest, callbacks=[_node_progress(f"dbt {command}", progress)])
    with _dbt_session(settings):
        outcome = runner.invoke(_dbt_args(settings, command, select))
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


@contextmanager
def _dbt_session(settings: Settings) -> Iterator[None]:
    """One dbt invocation: from the machine's last parse of the project
    (flows.transform.parse_seed), in the internal directory, with the database file named
    relative to it.

    dbt reuses its parse only while the profile's connection values stay the same, and the
    path is one of them: as an absolute path it would differ in every data directory, and each
    one's first build would parse the whole project again. The working directory is the
    process's, so it is put back as soon as dbt returns.
    """
    settings.internal_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FMW_INTERNAL_DB"] = settings.internal_db.name
    seed_parse(settings)
    previous = os.getcwd()
    os.chdir(settings.internal_dir)
    try:
        yield
    finally:
        try:
            release_dbt_database()  # first: DuckDB removes its files relative to the cwd
        finally:
            os.chdir(previous)
    keep_parse(settings)


def release_dbt_database() -> None:
    """Close the DuckDB instance dbt-duckdb kept open through the invocation.

    The profile says `keep_open: true`: with `false`, dbt-duckdb closes the database file
    whenever both threads are between nodes and opens it again for the next one, 70-85
    times a build, each close a checkpoint (2-4 s of a build, at any size). Kept open, the
    file would stay held after dbt returns, so every invocation ends here instead.
    `_ENV` is dbt-duckdb's (1.11) one environment per process; its own exit hook only
    drops it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def _node_progress(stage: str, progress: Callable[[Step], None]) -> Callable[[Any], None]:
    """A dbt event callback: the node count dbt announces, then a Step per node finished
    (dbt calls it from its threads)."""
    lock = threading.Lock()
    seen = {"total": 0, "done": 0}

    def on_event(event: Any) -> None:
        name = event.info.name
        if name == "ConcurrencyLine":
            seen["total"] = int(event.data.node_count)
        elif name == "NodeFinished":
            node = event.data.node_info
            with lock:
                seen["done"] += 1
                step = Step(stage, seen["done"], max(seen["total"], seen["done"]),
                            node.node_name, node.node_status)  # fmt: skip
            progress(step)

    return on_event


def generate_docs(settings: Settings, built: Manifest | None = None) -> Path:
    """Run `dbt docs generate --static` against the internal database; return the site.

    The site is one self-contained file, `static_index.html` in the dbt target directory,
    with the manifest and catalog inlined: it opens from disk in a browser, offline. It
    documents every model (lineage, SQL, column descriptions) and holds no warehouse
    data. Raise DbtBuildFailed when dbt fails or writes no site.

    `built` is the manifest of the build just run (run_dbt). When that build compiled every
    model and test, as a build of the whole project does, the site shows the SQL the build
    ran and dbt does not compile the project again (2.5-3 s of a full refresh at 1 M
    submissions); otherwise dbt compiles it as `docs generate` does. So after a first
    build or a --full-refresh, the incremental models show the SQL that built them whole,
    and after a nightly build the SQL of their incremental run.
    """
    from dbt.cli.main import dbtRunner

    site = settings.dbt_target_dir / "static_index.html"
    site.unlink(missing_ok=True)
    args = ["docs", *_dbt_args(settings, "generate"), "--static"]
    with _dbt_session(settings):
        if built is not None and _every_sql_node_compiled(built):
            _write_manifest(built, settings.dbt_target_dir)
            outcome = dbtRunner(manifest=built).invoke([*args, "--no-compile"])
        else:
            outcome = dbtRunner().invoke(args)
    if outcome.exception is not None or not outcome.success or not site.is_file():
        reason = outcome.exception or "see the dbt log"
        raise DbtBuildFailed(f"dbt docs generate failed: {reason}")
    return site


def _every_sql_node_compiled(manifest: Manifest) -> bool:
    return all(
        getattr(node, "compiled_code", None) is not None
        for node in manifest.nodes.values()
        if str(node.resource_type) in _DOCUMENTED_SQL_TYPES
    )


def _write_manifest(manifest: Manifest, target_dir: Path) -> None:
    """manifest.json, which `docs generate --static` inlines: with --no-compile, dbt reads
    it from the target directory instead of writing it."""
    from dbt.parser.manifest import write_manifest

    target_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(manifest, str(target_dir))
