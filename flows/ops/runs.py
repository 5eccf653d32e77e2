"""Run bookkeeping in the internal database: one ops.runs row per refresh."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import duckdb

from flows.config import Settings
from flows.form.xlsform import default_form
from flows.warehouse.compaction import compact_at_close_when_due
from flows.warehouse.connection import transaction
from flows.warehouse.lake import connect_internal, internal_exists
from flows.warehouse.schema import ensure_schema

_LOG = logging.getLogger(__name__)

RUN_COUNT_COLUMNS = (
    "files_seen",
    "files_loaded",
    "files_failed",
    "rows_loaded",
    "rows_quarantined",
)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def start_run(settings: Settings, run_id: str) -> None:
    with connect_internal(settings) as connection:
        ensure_schema(connection, default_form())
        connection.execute(
            "INSERT INTO ops.runs (run_id, started_at, status) "
            "VALUES (?, current_timestamp::TIMESTAMP, 'running')",
            [run_id],
        )


def record_ingest_counts(settings: Settings, run_id: str, counts: dict[str, int]) -> None:
    """Store what ingest did before the candidate is built, so the published row has it."""
    with connect_internal(settings) as connection:
        connection.execute(
            """
            UPDATE ops.runs SET files_seen = ?, files_loaded = ?, files_failed = ?,
                rows_loaded = ?, rows_quarantined = ?
            WHERE run_id = ?
            """,
            [*(counts[c] for c in RUN_COUNT_COLUMNS), run_id],
        )


def finish_run(settings: Settings, run_id: str, status: str, message: str | None = None) -> None:
    """Record how the run ended: the refresh's last write, so its checkpoint is where the
    warehouse file is compacted when a table needs it (flows.warehouse.compaction)."""
    with connect_internal(settings) as connection:
        connection.execute(
            "UPDATE ops.runs SET finished_at = current_timestamp::TIMESTAMP, status = ?, "
            "message = ? WHERE run_id = ?",
            [status, message, run_id],
        )
        if settings.lake is None:
            _compact_when_due(connection)


def _compact_when_due(connection: duckdb.DuckDBPyConnection) -> None:
    # A compaction put off is only a larger file: it never costs the run its status.
    try:
        due = compact_at_close_when_due(connection)
    except duckdb.Error as error:
        _LOG.warning("could not tell whether the warehouse needs compacting: %s", error)
        return
    if due:
        _LOG.info("compacting the warehouse's row groups at close: %s", ", ".join(due))


def mark_interrupted_runs_failed(settings: Settings) -> list[str]:
    """Called with the refresh lock held: any run still 'running' was killed. Returns their
    run ids."""
    if not internal_exists(settings):
        return []
    with connect_internal(settings) as connection:
        ensure_schema(connection, default_form())
        # Read, then update, in one transaction: DuckLake tables take no UPDATE ... RETURNING.
        with transaction(connection):
            marked = connection.execute(
                "SELECT run_id FROM ops.runs WHERE status = 'running'"
            ).fetchall()
            connection.execute(
                "UPDATE ops.runs SET status = 'failed', "
                "finished_at = current_timestamp::TIMESTAMP, "
                "message = 'interrupted: the process ended before the run finished' "
                "WHERE status = 'running'"
            )
    return sorted(run_id for (run_id,) in marked)
