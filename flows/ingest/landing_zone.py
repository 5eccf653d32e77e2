"""Ingest the landing zone into the internal database, one file per transaction.

Files are taken in arrival order (modification time, then name). A file already loaded is
not read again; nor hashed again when its size and modification time are those recorded
(the contract: files only ever arrive, a provider never edits one in place, so hashing
gigabytes of old exports every night would buy nothing). A file whose bytes equal a loaded
file is recorded as
`skipped_same_bytes`; a file that cannot be read is recorded as `failed` with the reason,
and the run goes on. Each file's rows, quarantine records and `ops.file_loads` row are
committed together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.form.xlsform import Form
from flows.ingest import fmr, reference
from flows.ingest.exceptions import UnreadableFile
from flows.ingest.fms.load import load_staged_fms
from flows.ingest.fms.read import stage_file
from flows.ingest.landing import SOURCES, LandingFile, LoadCounts, landing_files, sha256_of
from flows.ingest.stories import load as stories
from flows.step import Step
from flows.warehouse.connection import transaction
from flows.warehouse.schema import FMS_DELIVERIES_TABLE, ensure_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileResult:
    source: str
    file_name: str
    status: str  # loaded | skipped_same_bytes | failed
    counts: LoadCounts
    reason: str | None = None


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def rows_loaded(self) -> int:
        return sum(f.counts.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.counts.rows_quarantined for f in self.files)

    @property
    def files_loaded(self) -> int:
        return sum(1 for f in self.files if f.status == "loaded")


RAW_TABLES = (
    "raw.fms_submissions",
    FMS_DELIVERIES_TABLE,
    "raw.fmr_tallies",
    "raw.stories",
    "raw.fx_rates",
    "quarantine.rows",
)

Loader = Callable[[duckdb.DuckDBPyConnection, Form, LandingFile, str], LoadCounts]


# FMS exports are staged (read into a temporary table) before the file's transaction
# starts, so that DuckDB numbers the rows in file order; see _load_in_transaction.
LOADERS: dict[str, Loader] = {
    "fmr": fmr.load_fmr_file,
    "stories": stories.load_story_file,
    "reference": reference.load_reference_file,
}


_DEALT_WITH = "status IN ('loaded', 'skipped_same_bytes')"


@dataclass(frozen=True)
class FileIdentity:
    """What the file system says about a file, without reading it."""

    size_bytes: int
    modified_ns: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns)


def _seen_unchanged(
    connection: duckdb.DuckDBPyConnection, landing: LandingFile, identity: FileIdentity
) -> bool:
    """The file was dealt with before and its size and modification time are unchanged."""
    return (
        connection.execute(
            f"SELECT count(*) FROM ops.file_loads WHERE source = ? AND file_name = ? "
            f"AND size_bytes = ? AND modified_ns = ? AND {_DEALT_WITH}",
            [landing.source, landing.name, identity.size_bytes, identity.modified_ns],
        ).fetchone()[0]
        > 0
    )


def _remember_identity(
    connection: duckdb.DuckDBPyConnection,
    landing: LandingFile,
    sha256: str,
    identity: FileIdentity,
) -> None:
    """A file seen before by its bytes (touched, copied, or recorded before sizes were):
    note its size and time so that the next run need not hash it."""
    connection.execute(
        f"UPDATE ops.file_loads SET size_bytes = ?, modified_ns = ? "
        f"WHERE source = ? AND file_name = ? AND sha256 = ? AND {_DEALT_WITH}",
        [identity.size_bytes, identity.modified_ns, landing.source, landing.name, sha256],
    )


def _already_seen(connection: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """file name -> sha256 for files that need no work (loaded or skipped)."""
    rows = connection.execute(
        f"SELECT file_name, sha256 FROM ops.file_loads WHERE source = ? AND {_DEALT_WITH}",
        [source],
    ).fetchall()
    return dict(rows)


def _loaded_file_with_hash(
    connection: duckdb.DuckDBPyConnection, source: str, sha256: str
) -> tuple[str, int] | None:
    return connection.execute(
        "SELECT file_name, rows_read FROM ops.file_loads "
        "WHERE source = ? AND sha256 = ? AND status = 'loaded' LIMIT 1",
        [source, sha256],
    ).fetchone()


def _record(
    connection: duckdb.DuckDBPyConnection,
    landing: LandingFile,
    sha256: str,
    identity: FileIdentity,
    result: FileResult,
    run_id: str,
) -> None:
    connection.execute(
        "DELETE FROM ops.file_loads WHERE source = ? AND file_name = ? AND sha256 = ?",
        [landing.source, landing.name, sha256],
    )
    counts = result.counts
    connection.execute(
        "INSERT INTO ops.file_loads (source, file_name, sha256, rows_read, rows_loaded, "
        "rows_duplicate, rows_quarantined, status, reason, arrival_rank, run_id, loaded_at, "
        "size_bytes, modified_ns) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP, ?, ?)",
        [
            landing.source,
            landing.name,
            sha256,
            counts.rows_read,
            counts.rows_loaded,
            counts.rows_duplicate,
            counts.rows_quarantined,
            result.status,
            result.reason,
            landing.arrival_rank,
            run_id,
            identity.size_bytes,
            identity.modified_ns,
        ],
    )


def _load_in_transaction(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    sha256: str,
    identity: FileIdentity,
    run_id: str,
) -> FileResult:
    """Load the file and record it in one transaction: all of it, or nothing."""
    staged = stage_file(connection, form, landing.path) if landing.source == "fms" else None
    try:
        with transaction(connection):
            # Staging needs file order (it numbers the rows); nothing after it does: every
            # row carries its source_row, and tables are sets. Unordered, DuckDB writes the
            # raw rows on both cores.
            connection.execute("SET preserve_insertion_order = false")
            if staged is not None:
                counts = load_staged_fms(connection, form, staged, landing.name, run_id)
            else:
                counts = LOADERS[landing.source](connection, form, landing, run_id)
            result = FileResult(landing.source, landing.name, "loaded", counts)
            _record(connection, landing, sha256, identity, result, run_id)
    finally:
        connection.execute("RESET preserve_insertion_order")
    return result


def ingest_file(
    connection: duckdb.DuckDBPyConnection, form: Form, landing: LandingFile, run_id: str
) -> FileResult | None:
    """Load one file in its own transaction; None when it was already dealt with."""
    identity = FileIdentity.of(landing.path)
    if _seen_unchanged(connection, landing, identity):
        return None
    sha256 = sha256_of(landing.path)
    if _already_seen(connection, landing.source).get(landing.name) == sha256:
        _remember_identity(connection, landing, sha256, identity)
        return None
    twin = _loaded_file_with_hash(connection, landing.source, sha256)
    if twin is not None:
        twin_name, rows_read = twin
        result = FileResult(
            landing.source,
            landing.name,
            "skipped_same_bytes",
            LoadCounts(rows_read, 0, rows_read, 0),
            f"same bytes as {twin_name}",
        )
        _record(connection, landing, sha256, identity, result, run_id)
        return result

    try:
        return _load_in_transaction(connection, form, landing, sha256, identity, run_id)
    except (UnreadableFile, duckdb.Error, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        log.warning("%s/%s failed: %s", landing.source, landing.name, reason)
        result = FileResult(landing.source, landing.name, "failed", LoadCounts(0, 0, 0, 0), reason)
        _record(connection, landing, sha256, identity, result, run_id)
        return result


def reset_raw_layer(connection: duckdb.DuckDBPyConnection) -> None:
    """For --full-refresh: forget every load, so all files are read again in order."""
    for table in RAW_TABLES:
        connection.execute(f"DELETE FROM {table}")
    connection.execute("DELETE FROM ops.file_loads")


def ingest_landing_zone(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing_dir: Path,
    run_id: str,
    full_refresh: bool = False,
    progress: Callable[[Step], None] = lambda step: None,
) -> IngestSummary:
    ensure_schema(connection, form)
    if full_refresh:
        with transaction(connection):
            reset_raw_layer(connection)
    summary = IngestSummary()
    reference.load_reference_tables(connection, form)
    for source in SOURCES:
        files = landing_files(landing_dir, source)
        for position, landing in enumerate(files, start=1):
            result = ingest_file(connection, form, landing, run_id)
            outcome = "already loaded" if result is None else result.status
            progress(Step(f"ingest {source}", position, len(files), landing.name, outcome))
            if result is not None:
                summary.files.append(result)
    return summary
