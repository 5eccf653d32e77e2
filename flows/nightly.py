"""The `nightly_refresh` Prefect flow: ingest -> dbt build -> quality -> publish.

The flow only wires stages together; each stage's logic is a plain function elsewhere.
Tasks return small values (counts, paths), never frames.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.config import Settings, resolve_settings
from flows.form.xlsform import default_form
from flows.ingest.fms.repeats import ExportMemory
from flows.ingest.landing_zone import IngestSummary, ingest_landing_zone
from flows.ops.progress import say, step
from flows.ops.run_lock import refresh_lock
from flows.ops.runs import (
    finish_run,
    mark_interrupted_runs_failed,
    new_run_id,
    record_ingest_counts,
    start_run,
)
from flows.publish.candidate import build_candidate, describe_ops_tables, discard_candidate
from flows.publish.release import (
    discard_interrupted_publication,
    publish_candidate,
    publish_docs,
    published_run_id,
)
from flows.publish.report import build_report, publish_report
from flows.quality.worker_parent import QualityWorker
from flows.transform.dbt import generate_docs, parse_project, run_dbt
from flows.transform.plan import (
    BuildPlan,
    build_inputs,
    dbt_docs_are_current,
    forget_dbt_build,
    forget_dbt_docs,
    plan_dbt_build,
    record_dbt_build,
    record_dbt_docs,
)
from flows.transform.preload import preload_in_background
from flows.warehouse.connection import connect
from flows.warehouse.lake import connect_internal, lake_of
from flows.warehouse.permissions import internal_kept_private

if TYPE_CHECKING:
    from flows.quality.data_docs import DataDocs
    from flows.quality.gates import QualityReport


@dataclass
class RefreshOutcome:
    run_id: str
    status: str
    published_db: str | None = None
    files: list[dict[str, object]] = field(default_factory=list)
    quality: str = ""
    message: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    data_docs: str | None = None  # GX's Data Docs index
    data_docs_error: str | None = None  # why the run's Data Docs could not be built
    report: str | None = None  # the visual report published beside the database
    kobo_pull: str = ""  # what the KoboToolbox pull before ingest did, when there was one


@contextmanager
def _timed(stage_seconds: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        # a stage may be timed in parts: the quality stage's Data Docs arrive after publish
        stage_seconds[stage] = stage_seconds.get(stage, 0.0) + time.perf_counter() - started


class QualityGateFailed(RuntimeError):
    """A critical quality check failed: nothing was published."""

    def __init__(self, outcome: RefreshOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def _ingest_counts(summary: IngestSummary) -> dict[str, int]:
    return {
        "files_seen": len(summary.files),
        "files_loaded": summary.files_loaded,
        "files_failed": len(summary.failed),
        "rows_loaded": summary.rows_loaded,
        "rows_quarantined": summary.rows_quarantined,
    }


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_stage(settings: Settings, run_id: str) -> IngestSummary:
    logger = get_run_logger()
    with connect_internal(settings) as connection:
        summary = ingest_landing_zone(
            connection,
            default_form(),
            settings.landing_dir,
            run_id,
            full_refresh=settings.full_refresh,
            progress=step,
            limits=settings.ingest_limits,
            retry_failed=settings.retry_failed,
            memory=ExportMemory(settings.fms_export_memory_dir),
        )
    for failed in summary.failed:
        logger.warning("file %s/%s failed: %s", failed.source, failed.file_name, failed.reason)
    logger.info(
        "ingested %d files: %d rows loaded, %d quarantined, %d files failed",
        len(summary.files),
        summary.rows_loaded,
        summary.rows_quarantined,
        len(summary.failed),
    )
    return summary


@task(name="kobo pull", cache_policy=NO_CACHE)
def kobo_pull_stage(settings: Settings, asset: str, server: str | None) -> str:
    """Pull the asset's new submissions into landing/fms/; say what it did or why it failed."""
    from flows.ingest.kobo_pull import KoboPullError, KoboSource, pull_kobo

    say(f"kobo pull: new submissions of {asset}")
    try:
        summary = pull_kobo(KoboSource.from_environment(server, asset), settings.landing_dir)
    except KoboPullError as error:
        get_run_logger().error("kobo pull failed: %s", error)
        return f"failed: {error}"
    get_run_logger().info("kobo pull: %s", summary.describe())
    return summary.describe()


@task(name="dbt build", cache_policy=NO_CACHE)
def transform_stage(settings: Settings, plan: BuildPlan | None = None) -> Path:
    """dbt build (of what the plan selects: by default, everything), then the docs site
    that goes out with this build's published database.

    The site documents the code (project, references, k), not the data: it is generated
    again only when the code changed since it was, when it is missing, or on a full
    refresh. Fingerprints are taken before dbt reads anything and recorded only once
    its output is complete, so a stage killed half-way is redone by the next refresh.
    """
    plan = plan or BuildPlan(needed=True)
    if plan.select:
        sources = ", ".join(plan.changed_sources)
        say(f"dbt build: the models and data tests that the changed sources feed ({sources})")
    else:
        say("dbt build: staging, intermediate and marts models with their data tests")
    inputs = plan.inputs or build_inputs(settings)
    forget_dbt_build(settings)
    # one parse for the build and the docs site: the site is written from the build's
    # compiled nodes instead of compiling the project again (generate_docs)
    manifest = parse_project(settings)
    results = run_dbt(settings, "build", plan.select, progress=step, manifest=manifest)
    get_run_logger().info("dbt build: %d models, tests and seeds passed", len(results))
    site = settings.dbt_target_dir / "static_index.html"
    if not settings.full_refresh and dbt_docs_are_current(settings, inputs.code):
        say("dbt docs generate skipped: the dbt project, references and k are unchanged")
    else:
        say("dbt docs generate: the documentation site kept with the published database")
        forget_dbt_docs(settings)
        site = generate_docs(settings, built=manifest)
        record_dbt_docs(settings, inputs.code)
    record_dbt_build(settings, inputs)
    return site


@task(name="quality", cache_policy=NO_CACHE)
def quality_stage(
    settings: Settings, run_id: str, worker: QualityWorker
) -> tuple[Path, QualityReport]:
    """The gates run in the refresh's quality worker, which imported Great Expectations
    while ingest and dbt ran; this process records and reports their verdicts. The worker
    builds the run's Data Docs meanwhile (`data_docs_stage` collects them)."""
    from flows.quality.gates import record_validated_marks
    from flows.quality.records import keep_results, record_quality_results

    say("quality: expectation suites on the raw layer and the candidate database")
    candidate = build_candidate(settings, run_id)
    report = worker.run_gates_then_docs(settings, candidate, run_id)
    with connect(candidate, memory_limit=settings.duckdb_memory_limit) as connection:
        record_quality_results(connection, run_id, report)
        describe_ops_tables(connection)
    with connect_internal(settings) as connection:
        record_quality_results(connection, run_id, report)
        record_validated_marks(connection, run_id, report)
    keep_results(settings, run_id, report)
    logger = get_run_logger()
    for error in report.errors:
        logger.warning("not evaluated: %s %s: %s", error.suite, error.check_name, error.observed)
    logger.info("quality: %s", report.summary())
    return candidate, report


@task(name="data docs", cache_policy=NO_CACHE)
def data_docs_stage(run_id: str, report: QualityReport, worker: QualityWorker) -> DataDocs:
    """The run's Data Docs, which the worker built after the verdicts, and the run's
    artifacts that link them."""
    from flows.quality.artifacts import create_quality_artifacts

    docs = worker.data_docs()
    create_quality_artifacts(run_id, report, docs)
    logger = get_run_logger()
    if docs.error:
        logger.error("Data Docs could not be built: %s", docs.error)
    logger.info("Data Docs: %s", docs.index)
    return docs


@task(name="publish", cache_policy=NO_CACHE)
def publish_stage(
    settings: Settings, candidate: Path, run_id: str, docs_site: Path
) -> tuple[Path | str, Path]:
    """The report is drawn from the audited candidate before it is swapped in, and put in
    place right after: it never shows a database that was not published."""
    say("publish: drawing the report, swapping in the audited database")
    staged = build_report(
        candidate,
        settings.candidates_dir / f"report-{run_id}.html",
        settings.suppression_k,
        settings.internal_dir / "cache",
    )
    published = publish_candidate(settings, candidate, run_id)
    publish_docs(settings, docs_site)
    report = publish_report(settings, staged)
    get_run_logger().info("published %s; report %s", published, report)
    return published, report


@flow(name="nightly_refresh", log_prints=True)
def nightly_refresh(
    landing_dir: str | None = None,
    data_dir: str | None = None,
    full_refresh: bool = False,
    suppression_k: int | None = None,
    wait_for_lock: bool = False,
    kobo_asset: str | None = None,
    kobo_server: str | None = None,
    retry_failed: bool = False,
    lake: str | None = None,
    lake_data: str | None = None,
) -> RefreshOutcome:
    """Run one refresh; only one runs at a time per data directory.

    With `kobo_asset`, the refresh first pulls that KoboToolbox asset's new submissions into
    the landing zone (`kobo_server` or KOBO_SERVER_URL; the token from KOBO_TOKEN in the
    environment of the process that runs the flow, never a parameter). A pull that fails is
    reported and the refresh goes on with what the landing zone holds.

    A landing file that failed is read again only when its bytes change, or with
    `retry_failed`.

    With `lake` and `lake_data` (or FMW_LAKE, FMW_LAKE_DATA) the warehouse is a DuckLake
    catalog (flows.warehouse.lake), and only one refresh at a time runs on it, from any machine.
    """
    settings = resolve_settings(
        landing_dir=Path(landing_dir) if landing_dir else None,
        data_dir=Path(data_dir) if data_dir else None,
        suppression_k=suppression_k,
        full_refresh=full_refresh,
        retry_failed=retry_failed,
        lake=lake,
        lake_data=lake_data,
    )
    check_work_pool_run(settings)
    with (
        internal_kept_private(settings),
        refresh_lock(settings.lock_path, wait=wait_for_lock) as lock,
        lake_refresh_lock(settings, wait_for_lock),
    ):
        if lock.stale:
            pid = lock.stale.get("pid")
            say(f"a previous refresh (pid {pid}) was killed; cleaning up after it")
        # Started first: it imports Great Expectations on the other core meanwhile.
        with QualityWorker(shared_fds=(lock.fileno,)) as quality_worker:
            clean_up_interrupted_runs(settings)
            pulled = kobo_pull_stage(settings, kobo_asset, kobo_server) if kobo_asset else ""
            return _refresh(settings, new_run_id(), quality_worker, pulled)


def check_work_pool_run(settings: Settings) -> None:
    """A run that a worker picked up must be on its warehouse's work queue, whose limit
    keeps it from running beside another refresh of the same warehouse (flows.ops.deployment).
    """
    from prefect.context import FlowRunContext

    from flows.ops.deployment import check_run_queue

    context = FlowRunContext.get()
    run = context.flow_run if context else None
    if run is not None:
        check_run_queue(
            run.work_pool_name,
            run.work_queue_name,
            settings.data_dir,
            settings.lake,
            settings.lake_data,
        )


@contextmanager
def lake_refresh_lock(settings: Settings, wait: bool) -> Iterator[None]:
    """The lake's own lock (flows.ops.lake_lock), beside the data directory's: a Postgres
    catalog is shared by every machine that refreshes it."""
    dsn = lake_of(settings).postgres_dsn if settings.lake is not None else None
    if dsn is None:
        yield
        return
    from flows.ops.lake_lock import lake_lock

    with lake_lock(dsn, wait=wait):
        yield


def clean_up_interrupted_runs(settings: Settings) -> None:
    """Runs still marked running were killed: say so, and drop what they left half-done.

    A run killed after its database was swapped in did publish: it is recorded so."""
    interrupted = mark_interrupted_runs_failed(settings)
    published = published_run_id(settings)
    if published in interrupted:
        finish_run(settings, published, "published", "killed after its database was published")
    discard_interrupted_publication(settings, interrupted)
    if settings.candidates_dir.is_dir():
        for leftover in settings.candidates_dir.iterdir():
            leftover.unlink(missing_ok=True)


def _add_data_docs(
    settings: Settings,
    outcome: RefreshOutcome,
    seconds: dict[str, float],
    report: QualityReport,
    worker: QualityWorker,
) -> None:
    """The run's Data Docs into its outcome. The run's fate is already recorded: Data Docs
    (or artifacts) that fail leave it published or blocked, and say why."""
    from flows.quality.data_docs import data_docs_index

    with _timed(seconds, "quality"):
        try:
            docs = data_docs_stage(outcome.run_id, report, worker)
        except Exception as error:
            outcome.data_docs = str(data_docs_index(settings))
            outcome.data_docs_error = str(error).splitlines()[0] if str(error) else repr(error)
            return
    outcome.data_docs, outcome.data_docs_error = str(docs.index), docs.error


def _refresh(
    settings: Settings, run_id: str, quality_worker: QualityWorker, kobo_pull: str = ""
) -> RefreshOutcome:
    start_run(settings, run_id)
    say(f"refresh {run_id}: landing {settings.landing_dir}, data {settings.data_dir}")
    candidate: Path | None = None
    seconds: dict[str, float] = {}
    preload_in_background()
    try:
        with _timed(seconds, "ingest"):
            summary = ingest_stage(settings, run_id)
            record_ingest_counts(settings, run_id, _ingest_counts(summary))
        with _timed(seconds, "dbt"):
            plan = plan_dbt_build(settings)
            if not plan.needed:
                say("dbt build skipped: nothing changed since the last complete build")
                docs_site = settings.dbt_target_dir / "static_index.html"
            else:
                docs_site = transform_stage(settings, plan)
        with _timed(seconds, "quality"):
            candidate, report = quality_stage(settings, run_id, quality_worker)
        outcome = RefreshOutcome(
            run_id=run_id,
            status="published",
            files=[asdict(f) for f in summary.files],
            quality=report.summary(),
            stage_seconds=seconds,
            kobo_pull=kobo_pull,
        )
        if report.blocks_publication:
            outcome.status = "blocked_by_quality"
            outcome.message = "; ".join(
                f"{r.suite}.{r.check_name}: {r.observed}"
                for r in report.critical_failures + report.errors
            )
            finish_run(settings, run_id, outcome.status, outcome.message)
            _add_data_docs(settings, outcome, seconds, report, quality_worker)
            raise QualityGateFailed(outcome)
        with _timed(seconds, "publish"):
            published, visual = publish_stage(settings, candidate, run_id, docs_site)
            outcome.published_db, outcome.report = str(published), str(visual)
        candidate = None
        finish_run(settings, run_id, "published")
        _add_data_docs(settings, outcome, seconds, report, quality_worker)
        return outcome
    except QualityGateFailed:
        raise
    except Exception as error:
        finish_run(settings, run_id, "failed", str(error).splitlines()[0] if str(error) else "")
        raise
    finally:
        if candidate is not None:
            discard_candidate(candidate)
