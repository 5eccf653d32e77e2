"""What an ingest decided, to compare two warehouses that ingested the same files."""

from __future__ import annotations

import duckdb


def ingest_decisions(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Everything ingest decides, without the times it decided it at."""
    queries = {
        "held": "SELECT * EXCLUDE (loaded_at) FROM raw.fms_submissions",
        "deliveries": "SELECT _uuid, delivered_hash FROM raw.fms_deliveries",
        "quarantine": "SELECT * FROM quarantine.rows",
        "loads": "SELECT file_name, status, rows_read, rows_loaded, rows_duplicate, "
        "rows_quarantined FROM ops.file_loads",
    }
    return {
        name: sorted(connection.execute(sql).fetchall(), key=repr) for name, sql in queries.items()
    }
