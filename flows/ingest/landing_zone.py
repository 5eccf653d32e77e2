"""Ingest the landing zone into the internal database, one file per transaction.

Files are taken in arrival order (modification time, then name). A file already loaded is
not read again; nor hashed again when its size and modification time are those recorded
(the contract: files only ever arrive, a provider never edits one in place, so hashing
gigabytes of old exports every night would buy nothing). A file whose bytes equal a loaded
file is recorded as
`skipped_same_bytes`. Every file gets a verdict, whatever it holds: any error while one
file is read or loaded (unreadable bytes, a parser's RecursionError, a limit of
flows.config.IngestLimits) rolls that file back and records it as `failed`, with a reason
that names it, and the run goes on. A failed file is not read again until its bytes change
(or with `retry_failed`, `fmw refresh --retry-failed`), unless it failed for a cause
outside it (memory, disk, permissions): that one is read again by the next run. A link out
of the landing zone, or a pipe, is never opened. Each file's rows, quarantine records and
`ops.file_loads` row are committed together or not at all.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.form.xlsform import Form
from flows.ingest import fmr, reference
from flows.ingest.exceptions import UnreadableFile
from flows.ingest.fms.digest import FileDigest, digest_file
from flows.ingest.fms.load import StandInsNotHeld, load_staged_fms
from flows.ingest.fms.one_pass import stage_export
from flows.ingest.fms.read import StagedFile, drop_staging
from flows.ingest.fms.repeats import (
    ExportMemory,
    RememberedExport,
    header_line_of,
    stage_presuming_a_whole_repeat,
    stage_repeating_export,
)
from flows.ingest.landing import (
    SOURCES,
    LandingFile,
    LoadCounts,
    landing_files,
    printable,
)
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

Loader = Callable[[duckdb.DuckDBPyConnection, Form, LandingFile, str, IngestLimits], LoadCounts]


# FMS exports are staged (read into a temporary table) before the file's transaction
# starts, so that DuckDB numbers the rows in file order; see _load_in_transaction.
LOADERS: dict[str, Loader] = {
    "fmr": fmr.load_fmr_file,
    "stories": stories.load_story_file,
    "reference": reference.load_reference_file,
}


_DONE = "status IN ('loaded', 'skipped_same_bytes')"
# Recorded before retry_next_run existed (NULL): read once more, then judged as below.
_FAILED_FOR_GOOD = "status = 'failed' AND NOT coalesce(retry_next_run, true)"


def _dealt_with(retry_failed: bool) -> str:
    """SQL: the ops.file_loads rows of files that need no work this run."""
    return _DONE if retry_failed else f"({_DONE} OR ({_FAILED_FOR_GOOD}))"


# Causes outside the file: the same bytes may well load on the next run.
_MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EACCES, errno.EPERM, errno.EIO}


def _outside_the_file(error: BaseException) -> bool:
    if isinstance(error, MemoryError | duckdb.OutOfMemoryException | StandInsNotHeld):
        return True
    if isinstance(error, OSError) and not isinstance(error, UnreadableFile):
        return error.errno is None or error.errno in _MACHINE_ERRNOS
    return "No space left on device" in str(error)


@dataclass(frozen=True)
class FileIdentity:
    """What the file system says about a file, without reading it (nor following a link)."""

    size_bytes: int
    modified_ns: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        stat = path.lstat() if path.is_symlink() else path.stat()
        return cls(stat.st_size, stat.st_mtime_ns)


def _seen_unchanged(
    connection: duckdb.DuckDBPyConnection,
    landing: LandingFile,
    identity: FileIdentity,
    retry_failed: bool,
) -> bool:
    """The file was dealt with before and its size and modification time are unchanged."""
    return (
        connection.execute(
            f"SELECT count(*) FROM ops.file_loads WHERE source = ? AND file_name = ? "
            f"AND size_bytes = ? AND modified_ns = ? AND {_dealt_with(retry_failed)}",
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
        f"WHERE source = ? AND file_name = ? AND sha256 = ? AND {_dealt_with(False)}",
        [identity.size_bytes, identity.modified_ns, landing.source, landing.name, sha256],
    )


def _already_seen(
    connection: duckdb.DuckDBPyConnection, source: str, retry_failed: bool
) -> dict[str, str]:
    """file name -> sha256 for files that need no work (loaded, skipped, failed for good)."""
    rows = connection.execute(
        "SELECT file_name, sha256 FROM ops.file_loads "
        f"WHERE source = ? AND {_dealt_with(retry_failed)}",
        [source],
    ).fetchall()
    return dict(rows)


def _failed_file_with_hash(
    connection: duckdb.DuckDBPyConnection, source: str, sha256: str
) -> tuple[str, str] | None:
    """(name, reason) of a file with these bytes that failed for good."""
    return connection.execute(
        "SELECT file_name, reason FROM ops.file_loads "
        f"WHERE source = ? AND sha256 = ? AND {_FAILED_FOR_GOOD} LIMIT 1",
        [source, sha256],
    ).fetchone()


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
    retry_next_run: bool = False,
) -> None:
    # A file of that name that failed with other bytes was replaced by this one: the
    # verdict on its bytes goes with it (one row per landing file).
    connection.execute(
        "DELETE FROM ops.file_loads WHERE source = ? AND file_name = ? "
        "AND (sha256 = ? OR status = 'failed')",
        [landing.source, landing.name, sha256],
    )
    counts = result.counts
    connection.execute(
        "INSERT INTO ops.file_loads (source, file_name, sha256, rows_read, rows_loaded, "
        "rows_duplicate, rows_quarantined, status, reason, arrival_rank, run_id, loaded_at, "
        "size_bytes, modified_ns, retry_next_run) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP, ?, ?, ?)",
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
            retry_next_run,
        ],
    )


@dataclass
class _Staging:
    """An FMS export staged while its bytes were hashed: the staged file, or the error that
    staging raised, raised again where any file's loading error is judged."""

    staged: StagedFile | None = None
    error: Exception | None = None

    def result(self) -> StagedFile:
        if self.error is not None:
            raise self.error
        assert self.staged is not None
        return self.staged


def _is_fms_csv(landing: LandingFile) -> bool:
    return landing.source == "fms" and landing.path.suffix.lower() == ".csv"


def _remembered_export_of(
    memory: ExportMemory | None, landing: LandingFile
) -> RememberedExport | None:
    """The export last read in this file's layout, which this one may repeat."""
    if memory is None or not _is_fms_csv(landing):
        return None
    return memory.recall(header_line_of(landing.path))


def _stages_while_hashing(
    connection: duckdb.DuckDBPyConnection, landing: LandingFile, identity: FileIdentity
) -> bool:
    """Whether the file is an FMS export that no recorded file can match: no file of its
    name, and none of its size (same bytes, same size), was ever recorded. Such a file is
    loaded whatever its hash, so DuckDB stages it while Python hashes it, on the other core:
    whole, or, in a remembered layout, as a repeat of the remembered export
    (flows.ingest.fms.repeats). Any other file is hashed first: a copy is never read."""
    if not _is_fms_csv(landing):
        return False
    # A link is recorded with its own size (lstat), its bytes are its target's.
    sizes = [identity.size_bytes, landing.path.stat().st_size]
    recorded = connection.execute(
        "SELECT count(*) FROM ops.file_loads WHERE source = ? "
        "AND (file_name = ? OR size_bytes IN (?, ?) OR size_bytes IS NULL)",
        [landing.source, landing.name, *sizes],
    ).fetchone()[0]
    return recorded == 0


def _hash_while_staging(
    connection: duckdb.DuckDBPyConnection, form: Form, landing: LandingFile, limits: IngestLimits
) -> tuple[FileDigest, _Staging]:
    """The file's digest, computed in a thread while DuckDB stages it (both release the
    GIL). A file that cannot be hashed fails as it would have before staging."""
    staging = _Staging()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmw-sha256") as pool:
        hashing = pool.submit(digest_file, landing.path)
        try:
            staging.staged = stage_export(connection, form, landing.path, limits)
        except Exception as error:  # noqa: BLE001 - judged with the file's load, as before
            staging.error = error
        return hashing.result(), staging


def _hash_while_staging_repeats(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    limits: IngestLimits,
    memory: ExportMemory,
    remembered: RememberedExport,
) -> tuple[FileDigest, _Staging | None]:
    """An export in a remembered layout, hashed in a thread while DuckDB stages it as a
    repeat of the whole remembered export (flows.ingest.fms.repeats.PresumedRepeat). When
    its digest does not bear that out, or that staging failed, nothing staged is kept:
    the load stages it from the digest, as it would have."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmw-sha256") as pool:
        hashing = pool.submit(digest_file, landing.path, remembered.known)
        try:
            presumed = stage_presuming_a_whole_repeat(
                connection, form, landing.path, memory, remembered, limits
            )
        except Exception as error:  # noqa: BLE001 - the load stages it again and judges that
            log.info("%s: not staged while hashed: %s", landing.shown_name, error)
            presumed = None
        digest = hashing.result()
    staged = presumed.confirmed_by(digest) if presumed is not None else None
    if staged is None:
        drop_staging(connection)
        return digest, None
    return digest, _Staging(staged=staged)


def _load_in_transaction(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    identity: FileIdentity,
    run_id: str,
    limits: IngestLimits,
    digest: FileDigest,
    staging: _Staging | None = None,
    memory: ExportMemory | None = None,
    remembered: RememberedExport | None = None,
) -> FileResult:
    """Load the file and record it in one transaction: all of it, or nothing."""
    sha256 = digest.sha256
    staged = None
    if staging is not None:
        staged = staging.result()
    elif landing.source == "fms":
        staged = _stage_fms(connection, form, landing, digest, memory, remembered, limits)
    if staged is not None and memory is not None:
        # A cache of what the bytes staged to, valid whatever becomes of the load.
        memory.remember(connection, landing.name, digest, staged)
    try:
        with transaction(connection):
            # Staging needs file order (it numbers the rows); nothing after it does: every
            # row carries its source_row, and tables are sets. Unordered, DuckDB writes the
            # raw rows on both cores.
            connection.execute("SET preserve_insertion_order = false")
            if staged is not None:
                counts = load_staged_fms(connection, form, staged, landing.name, run_id)
            else:
                counts = LOADERS[landing.source](connection, form, landing, run_id, limits)
            result = FileResult(landing.source, landing.shown_name, "loaded", counts)
            _record(connection, landing, sha256, identity, result, run_id)
    finally:
        connection.execute("RESET preserve_insertion_order")
    return result


def _stage_fms(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    digest: FileDigest,
    memory: ExportMemory | None,
    remembered: RememberedExport | None,
    limits: IngestLimits,
) -> StagedFile:
    if memory is not None and remembered is not None and digest.bytes_as_known:
        staged = stage_repeating_export(
            connection, form, landing.path, digest, memory, remembered, limits
        )
        if staged is not None:
            return staged
    return stage_export(connection, form, landing.path, limits)


_MAX_REASON = 500


def _reason(landing: LandingFile, error: BaseException) -> str:
    """`<file>: <what went wrong>`, on one line; an error the loaders did not expect is
    named by its type (a RecursionError, a csv.Error, ...)."""
    message = " ".join(str(error).split())
    if not isinstance(error, UnreadableFile | duckdb.Error | OSError | ValueError) or not message:
        message = f"{type(error).__name__}: {message}" if message else type(error).__name__
    if len(message) > _MAX_REASON:
        message = message[: _MAX_REASON - 1] + "…"
    reason = f"{landing.shown_name}: {message}"
    if _outside_the_file(error):
        reason += " (read again by the next refresh: the cause may lie outside the file)"
    return reason


def _failed(landing: LandingFile, reason: str) -> FileResult:
    return FileResult(landing.source, landing.shown_name, "failed", LoadCounts(0, 0, 0, 0), reason)


def _refused_fingerprint(landing: LandingFile) -> str:
    """What stands for the bytes of a file that is never opened: where its link points."""
    path = landing.path
    what = os.readlink(path) if path.is_symlink() else f"mode {path.lstat().st_mode:o}"
    return hashlib.sha256(f"not opened: {what}".encode()).hexdigest()


def _judge(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    run_id: str,
    limits: IngestLimits,
    retry_failed: bool,
    memory: ExportMemory | None,
) -> FileResult | None:
    identity = FileIdentity.of(landing.path)
    if _seen_unchanged(connection, landing, identity, retry_failed):
        return None
    refusal = landing.refusal(landing.path.parent.parent)
    if refusal is not None:
        sha256 = _refused_fingerprint(landing)
        if _already_seen(connection, landing.source, retry_failed).get(landing.name) == sha256:
            return None
        result = _failed(landing, f"{landing.shown_name}: {refusal}")
        _record(connection, landing, sha256, identity, result, run_id)
        return result
    staging = None
    remembered = _remembered_export_of(memory, landing)
    if not _stages_while_hashing(connection, landing, identity):
        digest = digest_file(landing.path, remembered.known if remembered else None)
    elif memory is None or remembered is None:
        digest, staging = _hash_while_staging(connection, form, landing, limits)
    else:
        digest, staging = _hash_while_staging_repeats(
            connection, form, landing, limits, memory, remembered
        )
    sha256 = digest.sha256
    if _already_seen(connection, landing.source, retry_failed).get(landing.name) == sha256:
        _remember_identity(connection, landing, sha256, identity)
        return None
    twin = _loaded_file_with_hash(connection, landing.source, sha256)
    if twin is not None:
        twin_name, rows_read = twin
        result = FileResult(
            landing.source,
            landing.shown_name,
            "skipped_same_bytes",
            LoadCounts(rows_read, 0, rows_read, 0),
            f"same bytes as {printable(twin_name)}",
        )
        _record(connection, landing, sha256, identity, result, run_id)
        return result
    failed_twin = (
        None if retry_failed else _failed_file_with_hash(connection, landing.source, sha256)
    )
    if failed_twin is not None:
        twin_name, twin_reason = failed_twin
        reason = f"{landing.shown_name}: same bytes as {printable(twin_name)}, which failed"
        result = _failed(landing, f"{reason} ({twin_reason})")
        _record(connection, landing, sha256, identity, result, run_id)
        return result
    try:
        return _load_in_transaction(
            connection, form, landing, identity, run_id, limits, digest, staging, memory,
            remembered,
        )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - whatever a file holds, it gets a verdict
        result = _failed(landing, _reason(landing, error))
        log.warning("%s/%s failed: %s", landing.source, landing.shown_name, result.reason)
        if isinstance(error, StandInsNotHeld) and memory is not None:
            memory.forget(digest.header_line)
        _record(connection, landing, sha256, identity, result, run_id, _outside_the_file(error))
        return result


def ingest_file(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    run_id: str,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
    retry_failed: bool = False,
    memory: ExportMemory | None = None,
) -> FileResult | None:
    """Load one file in its own transaction; None when it was already dealt with. With
    `memory`, an FMS export is remembered for the next one in its layout, and staged from
    what it adds to the one remembered (flows.ingest.fms.repeats).

    A file that vanishes or cannot even be listed, hashed or opened still gets a verdict,
    read again next run."""
    try:
        return _judge(connection, form, landing, run_id, limits, retry_failed, memory)
    except Exception as error:  # noqa: BLE001 - the file could not even be looked at
        result = _failed(landing, _reason(landing, error))
        log.warning("%s/%s failed: %s", landing.source, landing.shown_name, result.reason)
        with transaction(connection):
            _record(
                connection,
                landing,
                hashlib.sha256(b"not read").hexdigest(),
                FileIdentity(-1, -1),
                result,
                run_id,
                retry_next_run=True,
            )
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
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
    retry_failed: bool = False,
    memory: ExportMemory | None = None,
) -> IngestSummary:
    ensure_schema(connection, form)
    if full_refresh:
        with transaction(connection):
            reset_raw_layer(connection)
        if memory is not None:
            memory.forget()
    if memory is not None:
        memory.remove_copies()
    summary = IngestSummary()
    reference.load_reference_tables(connection, form)
    for source in SOURCES:
        files = landing_files(landing_dir, source)
        for position, landing in enumerate(files, start=1):
            result = ingest_file(connection, form, landing, run_id, limits, retry_failed, memory)
            outcome = "already dealt with" if result is None else result.status
            progress(Step(f"ingest {source}", position, len(files), landing.shown_name, outcome))
            if result is not None:
                summary.files.append(result)
    return summary
