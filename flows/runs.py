"""Run bookkeeping in the internal database: one ops.runs row per refresh."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flows.config import Settings
from flows.form import default_form
from flows.warehouse import connect, ensure_schema


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def start_run(settings: Settings, run_id: str) -> None:
    with connect(settings.internal_db) as connection:
        ensure_schema(connection, default_form())
        connection.execute(
            "INSERT INTO ops.runs (run_id, started_at, status) "
            "VALUES (?, current_timestamp::TIMESTAMP, 'running')",
            [run_id],
        )


def finish_run(
    settings: Settings,
    run_id: str,
    status: str,
    message: str | None = None,
    counts: dict[str, int] | None = None,
) -> None:
    counts = counts or {}
    with connect(settings.internal_db) as connection:
        connection.execute(
            """
            UPDATE ops.runs SET finished_at = current_timestamp::TIMESTAMP, status = ?,
                message = ?, files_seen = ?, files_loaded = ?, files_failed = ?,
                rows_loaded = ?, rows_quarantined = ?
            WHERE run_id = ?
            """,
            [
                status,
                message,
                counts.get("files_seen"),
                counts.get("files_loaded"),
                counts.get("files_failed"),
                counts.get("rows_loaded"),
                counts.get("rows_quarantined"),
                run_id,
            ],
        )
