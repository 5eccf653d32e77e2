"""Configuration in one place: CLI flags, then FMW_* environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _project_folder(name: str) -> Path:
    """A folder of the repository's top level that the wheel carries inside the package:
    flows/<name> in an installed wheel, <repository>/<name> in a source tree."""
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PACKAGE_DIR.parent / name


DBT_PROJECT_DIR = _project_folder("dbt_project")
EXPECTATIONS_DIR = _project_folder("expectations")

DEFAULT_DATA_DIR = Path("data")
DEFAULT_LANDING_DIR = Path("landing")
DEFAULT_SUPPRESSION_K = 5
DEFAULT_KEEP_SNAPSHOTS = 7
DEFAULT_SCHEDULE_CRON = "0 2 * * *"
DEFAULT_SCHEDULE_TIMEZONE = "Asia/Vientiane"
# DuckDB's default is 80% of RAM, kept as cache; a nightly refresh shares the machine, so
# it is capped and DuckDB spills to disk beyond it. A 5 M-submission refresh must stay under
# 3 GB with its quality worker: with 2 GB the two held 2,792-2,976 MiB at once; 1.6 GB ran
# the 5 M ingest out of memory (bench/results.md). FMW_DUCKDB_MEMORY_LIMIT overrides it,
# for the flow's own connections, the dbt build and the quality gates alike.
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"


@dataclass(frozen=True)
class IngestLimits:
    """What one landing file may make the Python side of a refresh hold.

    DuckDB's reader streams and spills to disk, but whatever is parsed into Python objects
    (Kobo JSON, XLSX sheets, CSV that DuckDB could not read, story front matter) costs
    several times its size in memory: the inputs are bounded, not the process (an address
    space limit would also bind DuckDB, which runs in the same process). A file beyond a
    limit fails with a reason that names the limit and its FMW_* setting.
    """

    # FMW_MAX_PARSED_FILE_MB: a JSON file, an XLSX file's uncompressed content, a CSV file
    # read row by row in Python, a story file.
    max_parsed_file_bytes: int = 128 * 1024 * 1024
    # FMW_MAX_CELL_KB: one CSV cell; a row with a larger one is quarantined.
    max_cell_bytes: int = 1024 * 1024
    # FMW_MAX_FRONT_MATTER_KB: a story's YAML front matter.
    max_front_matter_bytes: int = 64 * 1024
    # FMW_MAX_NESTING_DEPTH: lists and objects inside one JSON value or a front matter.
    max_nesting_depth: int = 32


DEFAULT_INGEST_LIMITS = IngestLimits()

# The tools' usage reporting, switched off: the machine has no internet, and a refresh must
# never try to reach one. Set before the tools are imported, in every process that runs them.
TELEMETRY_SWITCHES = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",  # Prefect's client-side SDK telemetry
    "GX_ANALYTICS_ENABLED": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


def switch_off_telemetry() -> None:
    """Turn off Prefect's, Great Expectations' and dbt's usage reporting in this process."""
    for name, value in TELEMETRY_SWITCHES.items():
        os.environ.setdefault(name, value)


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    data_dir: Path
    suppression_k: int = DEFAULT_SUPPRESSION_K
    full_refresh: bool = False
    keep_snapshots: int = DEFAULT_KEEP_SNAPSHOTS
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    # The group that may read internal/ (FMW_INTERNAL_GROUP); None: its owner only.
    internal_group: str | None = None
    ingest_limits: IngestLimits = DEFAULT_INGEST_LIMITS
    retry_failed: bool = False  # read again the files that failed, even with the same bytes
    # The disclosure audit gate (flows.disclosure.gate): on unless FMW_DISCLOSURE_AUDIT=off.
    disclosure_audit: bool = True
    # The warehouse in a DuckLake catalog (flows.warehouse.lake): FMW_LAKE / --lake, the
    # catalog (`ducklake:postgres:dbname=... host=...`), and FMW_LAKE_DATA / --lake-data, the
    # folder or s3:// prefix of its data files. None: the embedded DuckDB files.
    lake: str | None = None
    lake_data: str | None = None

    @property
    def internal_dir(self) -> Path:
        return self.data_dir / "internal"

    @property
    def internal_db(self) -> Path:
        return self.internal_dir / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / "warehouse.duckdb"

    @property
    def candidates_dir(self) -> Path:
        """Where a refresh builds the next published database before it is swapped in.

        It sits on the same file system as the published file, so the swap is one rename.
        """
        return self.data_dir / "internal" / "candidates"

    @property
    def snapshots_dir(self) -> Path:
        """The last published databases, newest last, for `fmw rollback`."""
        return self.internal_dir / "snapshots"

    @property
    def lock_path(self) -> Path:
        return self.internal_dir / "refresh.lock"

    @property
    def prefect_home(self) -> Path:
        return self.internal_dir / "prefect"

    @property
    def fms_export_memory_dir(self) -> Path:
        """What the last FMS export of each layout staged to (flows.ingest.fms.repeats)."""
        return self.internal_dir / "fms_exports"

    @property
    def dbt_target_dir(self) -> Path:
        return self.internal_dir / "dbt_target"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError as error:
        raise ValueError(f"{name} must be an integer, got {value!r}") from error


def _env_positive(name: str, default: int, unit: int = 1) -> int:
    value = _env_int(name)
    if value is None:
        return default * unit
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value * unit


def ingest_limits() -> IngestLimits:
    """The per-file limits, from FMW_* environment variables or their defaults."""
    default = DEFAULT_INGEST_LIMITS
    return IngestLimits(
        max_parsed_file_bytes=_env_positive(
            "FMW_MAX_PARSED_FILE_MB", default.max_parsed_file_bytes // 2**20, 2**20
        ),
        max_cell_bytes=_env_positive("FMW_MAX_CELL_KB", default.max_cell_bytes // 2**10, 2**10),
        max_front_matter_bytes=_env_positive(
            "FMW_MAX_FRONT_MATTER_KB", default.max_front_matter_bytes // 2**10, 2**10
        ),
        max_nesting_depth=_env_positive("FMW_MAX_NESTING_DEPTH", default.max_nesting_depth),
    )


def _env_switch(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in ("1", "on", "true", "yes"):
        return True
    if word in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"{name} must be on or off, got {value!r}")


def lake_settings(lake: str | None, lake_data: str | None) -> tuple[str | None, str | None]:
    """The lake's catalog and data path: flags, then FMW_LAKE and FMW_LAKE_DATA; both or none."""
    url = lake or os.environ.get("FMW_LAKE") or None
    data = lake_data or os.environ.get("FMW_LAKE_DATA") or None
    if url is None:
        if data is not None:
            raise ValueError("--lake-data (FMW_LAKE_DATA) needs --lake (FMW_LAKE) too")
        return None, None
    if not url.startswith("ducklake:"):
        raise ValueError(f"--lake (FMW_LAKE) must start with ducklake:, got {url!r}")
    if data is None:
        raise ValueError("--lake (FMW_LAKE) needs --lake-data (FMW_LAKE_DATA): a folder or s3://")
    if not data.startswith("s3://"):
        data = str(Path(data).resolve())
    return url, data


# An S3 data path's secret (flows.warehouse.lake.s3_statements): DuckDB's S3 secret options
# from the standard AWS variables, and FMW_LAKE_S3_ENDPOINT for an S3-compatible store.
S3_ENVIRONMENT = {
    "KEY_ID": "AWS_ACCESS_KEY_ID",
    "SECRET": "AWS_SECRET_ACCESS_KEY",
    "REGION": "AWS_REGION",
    "ENDPOINT": "FMW_LAKE_S3_ENDPOINT",
    "URL_STYLE": "FMW_LAKE_S3_URL_STYLE",
    "USE_SSL": "FMW_LAKE_S3_USE_SSL",
}


def s3_settings() -> dict[str, str]:
    return {
        option: os.environ[variable]
        for option, variable in S3_ENVIRONMENT.items()
        if os.environ.get(variable)
    }


def resolve_settings(
    landing_dir: Path | None = None,
    data_dir: Path | None = None,
    suppression_k: int | None = None,
    full_refresh: bool = False,
    keep_snapshots: int | None = None,
    retry_failed: bool = False,
    lake: str | None = None,
    lake_data: str | None = None,
) -> Settings:
    k = suppression_k or _env_int("FMW_SUPPRESSION_K") or DEFAULT_SUPPRESSION_K
    if k < 1:
        raise ValueError(f"the suppression threshold k must be at least 1, got {k}")
    keep = keep_snapshots or _env_int("FMW_KEEP_SNAPSHOTS") or DEFAULT_KEEP_SNAPSHOTS
    if keep < 1:
        raise ValueError(f"at least one snapshot must be kept, got {keep}")
    lake_url, lake_path = lake_settings(lake, lake_data)
    return Settings(
        landing_dir=(landing_dir or _env_path("FMW_LANDING_DIR") or DEFAULT_LANDING_DIR).resolve(),
        data_dir=(data_dir or _env_path("FMW_DATA_DIR") or DEFAULT_DATA_DIR).resolve(),
        suppression_k=k,
        full_refresh=full_refresh,
        keep_snapshots=keep,
        duckdb_memory_limit=os.environ.get("FMW_DUCKDB_MEMORY_LIMIT")
        or DEFAULT_DUCKDB_MEMORY_LIMIT,
        internal_group=os.environ.get("FMW_INTERNAL_GROUP") or None,
        ingest_limits=ingest_limits(),
        retry_failed=retry_failed,
        disclosure_audit=_env_switch("FMW_DISCLOSURE_AUDIT", True),
        lake=lake_url,
        lake_data=lake_path,
    )
