"""`fmw status`: recent runs, what is published now, from which files, and its verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from flows.config import Settings
from flows.ops.run_lock import refresh_running
from flows.publish.release import published_run_id, snapshots
from flows.warehouse.connection import connect
from flows.warehouse.lake import connect_internal, internal_exists

WRITING = "unavailable while the running refresh writes the internal database"
NOT_THIS_ROLE = (
    "unavailable to this role: the run log is in the lake's internal catalog (fmw_internal), "
    "which the analysts' role may not read"
)


def _recent_runs(settings: Settings, limit: int) -> list[tuple] | str:
    """The internal run log, or why it cannot be read now."""
    if not internal_exists(settings):
        return []
    try:
        with connect_internal(settings, read_only=True) as connection:
            return connection.execute(
                "SELECT run_id, started_at, finished_at, status, rows_loaded, rows_quarantined, "
                "files_failed, message FROM ops.runs ORDER BY started_at DESC LIMIT ?",
                [limit],
            ).fetchall()
    except duckdb.IOException:
        return WRITING
    except duckdb.InvalidInputException as error:
        if settings.lake is not None and "creating a new DuckLake" in str(error):
            return []  # a lake no refresh has written yet
        raise
    except duckdb.Error as error:
        if settings.lake is not None and "permission denied for schema" in str(error):
            return NOT_THIS_ROLE
        raise


def _published_details(settings: Settings) -> list[str]:
    run_id = published_run_id(settings)
    modified = datetime.fromtimestamp(settings.published_db.stat().st_mtime, UTC)
    lines = [
        f"published: {settings.published_db}",
        f"  run {run_id}, in place since {modified:%Y-%m-%d %H:%M:%S} UTC",
    ]
    with connect(
        settings.published_db, read_only=True, memory_limit=settings.duckdb_memory_limit
    ) as connection:
        lines += _published_contents(connection, run_id)
    return lines


def _published_details_in_lake(settings: Settings) -> list[str]:
    from flows.publish.lake_release import connect_published, publications

    with connect_published(settings) as connection:
        kept = publications(connection) if connection is not None else []
        if connection is None or not kept:
            return [f"nothing is published yet in {settings.lake} (published catalog)"]
        current = kept[-1]
        lines = [
            f"published: {settings.lake} (published catalog, data {settings.lake_data})",
            f"  run {current.run_id}, snapshot {current.snapshot_id} ({current.kind}), "
            f"in place since {current.at:%Y-%m-%d %H:%M:%S} UTC",
        ]
        lines += _published_contents(connection, current.run_id)
    lines.append(f"publications in the catalog (for rollback): {len(kept)}")
    return lines


def _lake_refresh_running(settings: Settings) -> list[str]:
    """A refresh of the lake from any machine: the holder of its Postgres lock."""
    from flows.ops.lake_lock import lake_lock_holder
    from flows.warehouse.lake import lake_of

    dsn = lake_of(settings).postgres_dsn
    holder = lake_lock_holder(dsn) if dsn is not None else None
    return [] if holder is None else [f"a refresh is running on this lake now ({holder})"]


def _published_contents(connection: duckdb.DuckDBPyConnection, run_id: str | None) -> list[str]:
    lines: list[str] = []
    files = connection.execute(
        "SELECT source, count(*), sum(rows_read), sum(rows_quarantined), "
        "count(*) FILTER (WHERE status = 'failed') FROM ops.file_loads "
        "GROUP BY source ORDER BY source"
    ).fetchall()
    verdicts = connection.execute(
        "SELECT severity, success, count(*) FROM ops.quality_results "
        "WHERE run_id = ? GROUP BY ALL ORDER BY ALL",
        [run_id],
    ).fetchall()
    for source, count, rows, quarantined, failed in files:
        lines.append(
            f"  from {count} {source} file(s): {rows} rows read, {quarantined} quarantined"
            + (f", {failed} file(s) failed" if failed else "")
        )
    passed = sum(n for _, ok, n in verdicts if ok is True)
    failed_checks = [f"{n} {severity}" for severity, ok, n in verdicts if ok is False]
    errored = sum(n for _, ok, n in verdicts if ok is None)
    total = sum(n for _, _, n in verdicts)
    lines.append(
        f"  quality: {passed}/{total} checks passed"
        + (f"; failed: {', '.join(failed_checks)}" if failed_checks else "")
        + (f"; {errored} could not be evaluated" if errored else "")
    )
    return lines


def status_report(settings: Settings, limit: int = 10) -> str:
    lines: list[str] = []
    holder = refresh_running(settings.lock_path)
    if holder is not None:
        lines.append(
            f"a refresh is running now (pid {holder.get('pid')}, since {holder.get('started_at')})"
        )
    if settings.lake is not None:
        lines.extend(_lake_refresh_running(settings))
        lines.extend(_published_details_in_lake(settings))
    elif settings.published_db.exists():
        lines.extend(_published_details(settings))
    else:
        lines.append(f"nothing is published yet at {settings.published_db}")
    if settings.lake is None:
        kept = snapshots(settings)
        lines.append(
            f"snapshots kept for rollback: {len(kept)} (of at most {settings.keep_snapshots})"
        )
    lines.append("recent runs:")
    runs = _recent_runs(settings, limit)
    if isinstance(runs, str):
        lines.append(f"  {runs}")
        runs = []
    elif not runs:
        lines.append("  none yet")
    for run_id, started, finished, status, loaded, quarantined, failed, message in runs:
        duration = f"{(finished - started).total_seconds():.0f}s" if finished else "-"
        line = f"  {run_id}  {status:<18} {duration:>6}  loaded {loaded or 0}"
        line += f", quarantined {quarantined or 0}"
        if failed:
            line += f", {failed} file(s) failed"
        if message:
            line += f"  ({message[:120]})"
        lines.append(line)
    return "\n".join(lines) + "\n"
