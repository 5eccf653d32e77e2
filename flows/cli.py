"""`fmw`: the command line for engineers and analysts."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flows.config import DEFAULT_SCHEDULE_CRON, DEFAULT_SCHEDULE_TIMEZONE, switch_off_telemetry


def _prepare_data_dir(data_dir: str | None) -> None:
    """The data directory's folders with their modes, and, for the rest of this process and
    every process it starts (Prefect's server, the quality worker), a umask that keeps
    what they create under internal/ private (flows.warehouse.permissions)."""
    from flows.config import resolve_settings
    from flows.warehouse.permissions import prepare

    access = prepare(resolve_settings(data_dir=Path(data_dir) if data_dir else None))
    os.umask(access.umask)


def _prepare_prefect(data_dir: str | None) -> None:
    """Run flows in-process: an ephemeral Prefect API unless a server is configured.

    The ephemeral API keeps its state under the data directory, so two data directories
    never share (and lock) one Prefect database. Its server process is started here, by the
    main thread, so that it dies with this process however this process ends.
    """
    ephemeral = not os.environ.get("PREFECT_API_URL")
    if ephemeral:
        from flows.config import resolve_settings

        prefect_home = resolve_settings(data_dir=Path(data_dir) if data_dir else None).prefect_home
        prefect_home.mkdir(parents=True, exist_ok=True)  # Prefect creates only the leaf
        os.environ.setdefault("PREFECT_HOME", str(prefect_home))
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_ENABLED", "true")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    switch_off_telemetry()
    disabled = ("0", "false", "f", "no", "n", "off")
    if ephemeral and os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"].lower() not in disabled:
        from flows.ops.ephemeral_api import start_ephemeral_api

        start_ephemeral_api()


def _cmd_sample(args: argparse.Namespace) -> int:
    from flows.sample.generator import generate_landing_zone, summary

    manifest = generate_landing_zone(Path(args.out), surveys=args.surveys, seed=args.seed)
    print(f"wrote a sample landing zone to {Path(args.out).resolve()}")
    print(summary(manifest))
    return 0


def _print_outcome(outcome, verbose: bool = False) -> None:  # noqa: ANN001 - RefreshOutcome
    from flows.ops.refresh_summary import summary_lines

    print("\n".join(summary_lines(outcome, verbose)))
    if outcome.data_docs_error:
        print(f"  Data Docs could not be built: {outcome.data_docs_error}")


def _cmd_refresh(args: argparse.Namespace) -> int:
    from flows.warehouse.permissions import PermissionSetupError

    try:
        _prepare_data_dir(args.data_dir)
    except PermissionSetupError as error:
        print(f"refresh failed: {error}", file=sys.stderr)
        return 1
    _prepare_prefect(args.data_dir)
    from flows.nightly import QualityGateFailed, nightly_refresh
    from flows.ops.progress import configure
    from flows.ops.run_lock import RefreshAlreadyRunning

    configure(verbose=args.verbose)

    try:
        outcome = nightly_refresh(
            landing_dir=args.landing,
            data_dir=args.data_dir,
            full_refresh=args.full_refresh,
            suppression_k=args.k,
            wait_for_lock=args.wait,
            retry_failed=args.retry_failed,
            lake=args.lake,
            lake_data=args.lake_data,
        )
    except RefreshAlreadyRunning as busy:
        print(f"not started: {busy}", file=sys.stderr)
        return 3
    except QualityGateFailed as blocked:
        _print_outcome(blocked.outcome, args.verbose)
        print(f"Data Docs: {blocked.outcome.data_docs}")
        print("nothing was published: the previous published database is unchanged")
        return 2
    except Exception as error:  # noqa: BLE001 - the CLI reports any failure and exits non-zero
        print(f"refresh failed: {error}", file=sys.stderr)
        print("nothing was published: the previous published database is unchanged")
        return 1
    _print_outcome(outcome, args.verbose)
    print(f"\npublished database: {outcome.published_db}")
    if args.lake or os.environ.get("FMW_LAKE"):
        print(f"report (open in a browser): {outcome.report}")
        print(f"Data Docs (quality, internal): {outcome.data_docs}")
        return 0
    tools = Path(sys.argv[0]).parent  # the DuckDB CLI installed beside fmw: the writer's version
    print("try:")
    print(
        f"  {tools / 'duckdb'} -readonly {outcome.published_db} "
        '"select * from marts.fms_corridor_monthly order by respondents desc nulls last limit 10"'
    )
    print(
        f'  or: {tools / "fmw"} query "select month, sum(respondents) '
        'from marts.fms_corridor_monthly group by all order by 1"'
    )
    print(f"report (open in a browser): {outcome.report}")
    print(f"Data Docs (quality, internal): {outcome.data_docs}")
    return 0


def _cmd_pull_kobo(args: argparse.Namespace) -> int:
    from flows.config import resolve_settings
    from flows.ingest.kobo_pull import KoboPullError, KoboSource, pull_kobo
    from flows.ops.progress import say

    landing = resolve_settings(landing_dir=Path(args.landing) if args.landing else None)
    try:
        source = KoboSource.from_environment(args.server, args.asset)
        summary = pull_kobo(
            source, landing.landing_dir, full=args.full, page_size=args.page_size, progress=say
        )
    except KoboPullError as error:
        print(f"kobo pull failed: {error}", file=sys.stderr)
        return 1
    print(f"kobo pull of {source.asset_uid}: {summary.describe()}")
    for path in summary.files:
        print(f"  wrote {path}")
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    from flows.analyst.query import NothingPublished, query_published
    from flows.analyst.statements import QueryRefused
    from flows.warehouse.lake import published_source

    settings = _settings(args)
    try:
        text = query_published(
            published_source(settings), args.sql, args.format, settings.duckdb_memory_limit
        )
    except QueryRefused as refused:
        print(f"query refused: {refused}", file=sys.stderr)
        return 1
    except (NothingPublished, duckdb.Error) as error:
        print(f"query failed: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def _settings(args: argparse.Namespace):  # noqa: ANN202 - Settings, imported lazily
    from flows.config import resolve_settings

    return resolve_settings(
        data_dir=Path(args.data_dir) if args.data_dir else None,
        keep_snapshots=getattr(args, "keep", None),
        lake=getattr(args, "lake", None),
        lake_data=getattr(args, "lake_data", None),
    )


def _cmd_status(args: argparse.Namespace) -> int:
    from flows.ops.status import status_report

    sys.stdout.write(status_report(_settings(args), limit=args.limit))
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from flows.nightly import lake_refresh_lock
    from flows.ops.run_lock import RefreshAlreadyRunning, refresh_lock
    from flows.publish.release import NoEarlierSnapshot, rollback
    from flows.publish.report import build_report, report_path
    from flows.warehouse.lake import published_source
    from flows.warehouse.permissions import PermissionSetupError, readable_dir

    settings = _settings(args)
    try:
        _prepare_data_dir(args.data_dir)
        readable_dir(report_path(settings.published_dir).parent)
        with (
            refresh_lock(settings.lock_path, wait=args.wait),
            lake_refresh_lock(settings, args.wait),
        ):
            run_id = rollback(settings)
            report = build_report(
                published_source(settings),
                report_path(settings.published_dir),
                settings.suppression_k,
                settings.internal_dir / "cache",
            )  # the report shows the database analysts see
    except (NoEarlierSnapshot, RefreshAlreadyRunning, PermissionSetupError) as error:
        print(f"rollback failed: {error}", file=sys.stderr)
        return 1
    if settings.lake is not None:
        print(f"re-published the tables of run {run_id} in {settings.lake}")
    else:
        print(f"re-published the database of run {run_id}: {settings.published_db}")
    print(f"report redrawn from it: {report}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import duckdb

    from flows.analyst.export import ExportError, export_table
    from flows.analyst.query import NothingPublished
    from flows.warehouse.lake import published_source

    settings = _settings(args)
    out = Path(args.out or f"{args.table.replace('.', '__')}.{args.format}")
    try:
        path = export_table(
            published_source(settings),
            args.table,
            args.format,
            out,
            hxl=args.hxl,
            memory_limit=settings.duckdb_memory_limit,
        )
    except (ExportError, NothingPublished, duckdb.Error, OSError) as error:
        print(f"export failed: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from flows.warehouse.permissions import PermissionSetupError

    try:
        _prepare_data_dir(args.data_dir)
    except PermissionSetupError as error:
        print(f"serve failed: {error}", file=sys.stderr)
        return 1
    _prepare_prefect(args.data_dir)
    from prefect import serve

    from flows.schedule import nightly_deployment

    deployment = nightly_deployment(
        cron=args.cron,
        timezone=args.timezone,
        landing_dir=args.landing,
        data_dir=args.data_dir,
        kobo_asset=args.kobo_asset,
        kobo_server=args.kobo_server,
    )
    serve(deployment)
    return 0


def _cmd_deploy(args: argparse.Namespace) -> int:
    if not os.environ.get("PREFECT_API_URL"):
        print("deploy needs a Prefect server: set PREFECT_API_URL", file=sys.stderr)
        return 1
    switch_off_telemetry()
    from flows.config import resolve_settings
    from flows.ops.deployment import DeploymentError, register_on_work_pool

    try:
        settings = resolve_settings(
            landing_dir=Path(args.landing) if args.landing else None,
            data_dir=Path(args.data_dir) if args.data_dir else None,
            lake=args.lake,
            lake_data=args.lake_data,
        )
        deployed = register_on_work_pool(
            settings,
            args.pool,
            name=args.name,
            cron=args.cron,
            timezone=args.timezone,
            kobo_asset=args.kobo_asset,
            kobo_server=args.kobo_server,
        )
    except (DeploymentError, ValueError) as error:
        print(f"deploy failed: {error}", file=sys.stderr)
        return 1
    print(f"deployment {deployed.name} on work pool {deployed.work_pool}")
    print(f"  warehouse {deployed.warehouse}, landing zone {deployed.landing_dir}")
    if deployed.warehouse != str(deployed.data_dir):
        print(f"  run state (lock, dbt target, Data Docs, report) in {deployed.data_dir}")
    print(f"  work queue {deployed.work_queue}: one run of this warehouse at a time")
    print(f"run it now: prefect deployment run '{deployed.name}'")
    return 0


def _cmd_expectations(args: argparse.Namespace) -> int:
    from flows.config import EXPECTATIONS_DIR
    from flows.form.xlsform import default_form
    from flows.quality.suite_generation import SUITE_NAME, is_up_to_date, write_raw_fms_suite

    directory = Path(args.out) if args.out else EXPECTATIONS_DIR
    if args.check:
        if is_up_to_date(default_form(), directory):
            print(f"{SUITE_NAME}.json is up to date with the form")
            return 0
        print(
            f"{directory / SUITE_NAME}.json differs from the form: run `fmw expectations generate`",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {write_raw_fms_suite(default_form(), directory)}")
    return 0


def _cmd_audit_disclosure(args: argparse.Namespace) -> int:
    import duckdb

    from flows.analyst.query import where
    from flows.config import resolve_settings
    from flows.disclosure.audit import AuditError, audit_database, render
    from flows.warehouse.lake import Lake, is_published, published_source

    try:
        settings = resolve_settings(
            data_dir=Path(args.data_dir) if args.data_dir else None,
            suppression_k=args.k,
            lake=args.lake,
            lake_data=args.lake_data,
        )
        database = Path(args.database) if args.database else published_source(settings)
        if isinstance(database, Lake) and not is_published(database):
            print(
                f"audit-disclosure: nothing is published yet in {where(database)}", file=sys.stderr
            )
            return 1
    except (ValueError, duckdb.Error) as error:
        print(f"audit-disclosure failed: {error}", file=sys.stderr)
        return 1
    if isinstance(database, Path) and not database.is_file():
        print(f"audit-disclosure: no database at {database}", file=sys.stderr)
        return 1
    try:
        report = audit_database(database, settings.suppression_k)
    except (AuditError, duckdb.Error) as error:
        print(f"audit-disclosure failed on {where(database)}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(render(report, worst=args.worst))
    return 0 if report.passes else 2


def _lake_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--lake",
        help="the warehouse in a DuckLake catalog: ducklake:postgres:dbname=... (FMW_LAKE)",
    )
    command.add_argument(
        "--lake-data", help="the lake's data files: a folder or s3://bucket/prefix (FMW_LAKE_DATA)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fmw", description="Flow Monitoring Warehouse")
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="generate a sample landing zone")
    sample.add_argument("--out", required=True, help="folder to write the landing zone to")
    sample.add_argument("--surveys", type=int, default=5000, help="number of submissions")
    sample.add_argument("--seed", type=int, default=20260301, help="random seed")
    sample.set_defaults(handler=_cmd_sample)

    refresh = commands.add_parser("refresh", help="run the nightly refresh once, in-process")
    refresh.add_argument("--landing", help="landing zone folder (FMW_LANDING_DIR, ./landing)")
    refresh.add_argument("--data-dir", help="data folder (FMW_DATA_DIR, ./data)")
    refresh.add_argument(
        "--full-refresh", action="store_true", help="rebuild everything from the landing zone"
    )
    refresh.add_argument("--k", type=int, help="small-cell suppression threshold (default 5)")
    refresh.add_argument(
        "--retry-failed",
        action="store_true",
        help="read again the landing files that failed, even if their bytes did not change",
    )
    refresh.add_argument(
        "--wait",
        action="store_true",
        help="if a refresh is already running, wait for it instead of exiting (status 3)",
    )
    refresh.add_argument(
        "--verbose", action="store_true", help="a line per landing file, not a summary per source"
    )
    _lake_flags(refresh)
    refresh.set_defaults(handler=_cmd_refresh)

    pull = commands.add_parser("pull", help="pull new submissions into the landing zone")
    pull_sources = pull.add_subparsers(dest="source", required=True)
    kobo = pull_sources.add_parser(
        "kobo", help="a KoboToolbox asset's new submissions, as API JSON pages in landing/fms/"
    )
    kobo.add_argument("--server", help="KoboToolbox server URL (KOBO_SERVER_URL)")
    kobo.add_argument("--asset", help="asset uid of the form (KOBO_ASSET_UID)")
    kobo.add_argument("--landing", help="landing zone folder (FMW_LANDING_DIR, ./landing)")
    kobo.add_argument(
        "--full", action="store_true", help="pull every submission again (edits included)"
    )
    kobo.add_argument("--page-size", type=int, default=1000, help="submissions per page")
    kobo.set_defaults(handler=_cmd_pull_kobo)

    query = commands.add_parser("query", help="query the published database, read-only")
    query.add_argument("sql", help="the SQL to run")
    query.add_argument("--data-dir", help="data folder (FMW_DATA_DIR, ./data)")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")
    _lake_flags(query)
    query.set_defaults(handler=_cmd_query)

    status = commands.add_parser("status", help="recent runs and what is published now")
    status.add_argument("--data-dir", help="data folder (FMW_DATA_DIR, ./data)")
    status.add_argument("--limit", type=int, default=10, help="how many recent runs to show")
    _lake_flags(status)
    status.set_defaults(handler=_cmd_status)

    back = commands.add_parser("rollback", help="re-publish the previous published database")
    back.add_argument("--data-dir", help="data folder (FMW_DATA_DIR, ./data)")
    back.add_argument("--wait", action="store_true", help="wait for a running refresh")
    _lake_flags(back)
    back.set_defaults(handler=_cmd_rollback)

    export = commands.add_parser("export", help="export a published table")
    export.add_argument("table", help="schema.table, e.g. marts.fms_corridor_monthly")
    export.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    export.add_argument("--hxl", action="store_true", help="add the HXL hashtag row")
    export.add_argument("--out", help="output file (default: <schema>__<table>.<format>)")
    export.add_argument("--data-dir", help="data folder (FMW_DATA_DIR, ./data)")
    _lake_flags(export)
    export.set_defaults(handler=_cmd_export)

    serve = commands.add_parser("serve", help="serve the scheduled nightly_refresh deployment")
    serve.add_argument(
        "--cron",
        default=DEFAULT_SCHEDULE_CRON,
        help=f"cron schedule (default {DEFAULT_SCHEDULE_CRON})",
    )
    serve.add_argument(
        "--timezone",
        default=DEFAULT_SCHEDULE_TIMEZONE,
        help=f"schedule time zone (default {DEFAULT_SCHEDULE_TIMEZONE})",
    )
    serve.add_argument("--landing", help="landing zone folder (FMW_LANDING_DIR, ./landing)")
    serve.add_argument("--data-dir", help="data folder (FMW_DATA_DIR, ./data)")
    serve.add_argument(
        "--kobo-asset", help="pull this KoboToolbox asset before each refresh (token: KOBO_TOKEN)"
    )
    serve.add_argument("--kobo-server", help="its server URL (KOBO_SERVER_URL)")
    serve.set_defaults(handler=_cmd_serve)

    deploy = commands.add_parser(
        "deploy", help="register the nightly_refresh deployment on a Prefect process work pool"
    )
    deploy.add_argument("--pool", required=True, help="the process work pool its workers poll")
    deploy.add_argument("--name", help="deployment name (default: nightly-<data dir>)")
    deploy.add_argument("--cron", default=DEFAULT_SCHEDULE_CRON, help="cron schedule")
    deploy.add_argument("--timezone", default=DEFAULT_SCHEDULE_TIMEZONE, help="its time zone")
    deploy.add_argument("--landing", help="landing zone folder (FMW_LANDING_DIR, ./landing)")
    deploy.add_argument("--data-dir", help="data folder (FMW_DATA_DIR, ./data)")
    deploy.add_argument("--kobo-asset", help="pull this KoboToolbox asset before each refresh")
    deploy.add_argument("--kobo-server", help="its server URL (KOBO_SERVER_URL)")
    _lake_flags(deploy)
    deploy.set_defaults(handler=_cmd_deploy)

    audit = commands.add_parser(
        "audit-disclosure",
        help="what a reader can derive about the suppressed counts of a published database",
    )
    where = audit.add_mutually_exclusive_group()
    where.add_argument("--data-dir", help="audit <data-dir>/published (FMW_DATA_DIR, ./data)")
    where.add_argument("--database", help="audit this DuckDB file instead")
    where.add_argument(
        "--lake", help="audit the published catalog of this DuckLake (FMW_LAKE), read-only"
    )
    audit.add_argument("--lake-data", help="the lake's data files (FMW_LAKE_DATA)")
    audit.add_argument("--k", type=int, help="suppression threshold (FMW_SUPPRESSION_K, 5)")
    audit.add_argument("--worst", type=int, default=10, help="how many worst cells to list")
    audit.set_defaults(handler=_cmd_audit_disclosure)

    expectations = commands.add_parser("expectations", help="the Great Expectations suites")
    expectation_commands = expectations.add_subparsers(dest="action", required=True)
    generate = expectation_commands.add_parser(
        "generate", help="generate expectations/raw_fms_submissions.json from the XLSForm"
    )
    generate.add_argument("--out", help="folder to write to (default: the project's expectations/)")
    generate.add_argument(
        "--check", action="store_true", help="only check that the written suite is up to date"
    )
    generate.set_defaults(handler=_cmd_expectations)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        return args.handler(args)
    finally:
        os.umask(umask)  # a command may narrow it (_prepare_data_dir); a caller gets its own back


if __name__ == "__main__":
    sys.exit(main())
