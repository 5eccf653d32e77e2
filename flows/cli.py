"""`fmw`: the command line for engineers and analysts."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _prepare_prefect() -> None:
    """Run flows in-process: an ephemeral Prefect API unless a server is configured."""
    if not os.environ.get("PREFECT_API_URL"):
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_ENABLED", "true")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def _cmd_sample(args: argparse.Namespace) -> int:
    from flows.sample import generate_landing_zone

    manifest = generate_landing_zone(Path(args.out), surveys=args.surveys, seed=args.seed)
    print(f"wrote a sample landing zone to {Path(args.out).resolve()}")
    print(f"  {manifest.summary()}" if hasattr(manifest, "summary") else "")
    return 0


def _print_outcome(outcome) -> None:  # noqa: ANN001 - RefreshOutcome, imported lazily
    print(f"run {outcome.run_id}: {outcome.status}")
    for item in outcome.files:
        counts = item["counts"]
        line = (
            f"  {item['source']}/{item['file_name']}: {item['status']}, "
            f"read {counts['rows_read']}, loaded {counts['rows_loaded']}, "
            f"duplicate {counts['rows_duplicate']}, quarantined {counts['rows_quarantined']}"
        )
        if item.get("reason"):
            line += f" ({item['reason']})"
        print(line)
    if not outcome.files:
        print("  no new landing files")
    failed = [f for f in outcome.files if f["status"] == "failed"]
    if failed:
        print(f"  FAILED FILES: {', '.join(f['source'] + '/' + f['file_name'] for f in failed)}")
    if outcome.quality:
        print(f"  quality: {outcome.quality}")
    if outcome.message:
        print(f"  {outcome.message}")


def _cmd_refresh(args: argparse.Namespace) -> int:
    _prepare_prefect()
    from flows.nightly import QualityGateFailed, nightly_refresh

    try:
        outcome = nightly_refresh(
            landing_dir=args.landing,
            data_dir=args.data_dir,
            full_refresh=args.full_refresh,
            suppression_k=args.k,
        )
    except QualityGateFailed as blocked:
        _print_outcome(blocked.outcome)
        print("nothing was published: the previous published database is unchanged")
        return 2
    except Exception as error:  # noqa: BLE001 - the CLI reports any failure and exits non-zero
        print(f"refresh failed: {error}", file=sys.stderr)
        print("nothing was published: the previous published database is unchanged")
        return 1
    _print_outcome(outcome)
    print(f"\npublished database: {outcome.published_db}")
    print("try:")
    print(
        f'  duckdb -readonly {outcome.published_db} "select * from marts.fms_corridor_monthly '
        'order by respondents desc nulls last limit 10"'
    )
    print(
        '  or: fmw query "select month, sum(respondents) from marts.fms_corridor_monthly '
        'group by all order by 1"'
    )
    return 0


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
    refresh.set_defaults(handler=_cmd_refresh)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
