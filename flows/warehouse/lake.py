"""The warehouse in a DuckLake catalog (`--lake` / FMW_LAKE) instead of DuckDB files.

Two DuckLake catalogs share one Postgres database, each in its own metadata schema and with its
own data path, so that a Postgres role and a storage policy can give analysts the second only:

- `internal` (metadata schema `fmw_internal`, data `<lake-data>/internal/`): what the internal
  DuckDB file holds in the embedded mode (raw, reference, quarantine, ops, dbt's layers);
- `published` (metadata schema `fmw_published`, data `<lake-data>/published/`): what the
  published file holds (marts and the published ops tables), written only by a refresh whose
  gates passed, each publication one DuckLake snapshot (flows.publish.lake_release).

Extensions are loaded from the installed wheels by path (`duckdb-extension-<name>`), with
autoloading and autoinstalling off: nothing is ever downloaded.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT, Settings
from flows.sql import quote_literal
from flows.warehouse.connection import (
    CONFINED_CONFIG,
    connect,
    connect_confined,
    set_flow_session,
)

INTERNAL = "internal"
PUBLISHED = "published"
METADATA_SCHEMAS = {INTERNAL: "fmw_internal", PUBLISHED: "fmw_published"}
# The name the lake is attached under in this project's connections; USE makes it the default
# catalog, so the same unqualified SQL (raw.fms_submissions, ops.runs) runs in both modes.
ALIAS = "lake"
DUCKDB_VERSION = "v1.5.5"
# Extension -> the Python package of its wheel (pyproject pins them to DuckDB's version).
EXTENSION_PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}
NO_DOWNLOADS: dict[str, object] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class LakeConfigError(ValueError):
    pass


def extension_path(name: str) -> Path:
    """The extension's file inside its installed wheel."""
    package = importlib.import_module(EXTENSION_PACKAGES[name])
    path = (
        Path(package.__file__).parent / "extensions" / DUCKDB_VERSION / f"{name}.duckdb_extension"
    )
    if not path.is_file():
        raise LakeConfigError(f"the {name} extension is missing from its wheel: {path}")
    return path


@dataclass(frozen=True)
class Lake:
    """One of the two catalogs of a lake, as a connection attaches it."""

    url: str  # ducklake:postgres:<libpq keywords> (or any ducklake: catalog DuckDB attaches)
    data_root: str  # a folder or s3://bucket/prefix
    catalog: str = INTERNAL  # INTERNAL or PUBLISHED
    read_only: bool = False

    @property
    def data_path(self) -> str:
        return f"{self.data_root.rstrip('/')}/{self.catalog}/"

    @property
    def metadata_schema(self) -> str:
        return METADATA_SCHEMAS[self.catalog]

    @property
    def postgres_dsn(self) -> str | None:
        """The libpq keywords of a Postgres-backed catalog."""
        prefix = "ducklake:postgres:"
        return self.url[len(prefix) :] if self.url.startswith(prefix) else None

    @property
    def on_s3(self) -> bool:
        return self.data_root.startswith("s3://")

    def extensions(self) -> list[str]:
        names = ["ducklake"]
        if self.postgres_dsn is not None:
            names.append("postgres_scanner")
        if self.on_s3:
            names.append("httpfs")
        return names

    def options(self) -> dict[str, object]:
        options: dict[str, object] = {
            "data_path": self.data_path,
            "metadata_schema": self.metadata_schema,
        }
        if self.read_only:
            options["read_only"] = True
        return options

    def load_statements(self) -> list[str]:
        return [f"LOAD {quote_literal(str(extension_path(n)))}" for n in self.extensions()]

    def attach_statement(self, alias: str = ALIAS) -> str:
        parts = [f"DATA_PATH {quote_literal(self.data_path)}"]
        parts.append(f"METADATA_SCHEMA {quote_literal(self.metadata_schema)}")
        if self.read_only:
            parts.append("READ_ONLY")
        return f"ATTACH {quote_literal(self.url)} AS {alias} ({', '.join(parts)})"

    def statements(self, alias: str = ALIAS, use: bool = True) -> list[str]:
        """Everything a fresh DuckDB connection runs to work in this catalog."""
        statements = [*self.load_statements(), *s3_statements(self), self.attach_statement(alias)]
        return [*statements, f"USE {alias}"] if use else statements

    @property
    def key(self) -> str:
        return f"{self.url}|{self.data_path}|{self.read_only}"


def s3_statements(lake: Lake) -> list[str]:
    """An S3 data path's secret, from the environment (flows.config.s3_settings)."""
    return s3_secret_statements() if lake.on_s3 else []


def s3_secret_statements() -> list[str]:
    """The S3 secret of this process's environment, if it gives any S3 setting."""
    from flows.config import s3_settings

    settings = s3_settings()
    if not settings:
        return []
    options = ", ".join(f"{name} {quote_literal(value)}" for name, value in settings.items())
    return [f"CREATE OR REPLACE SECRET fmw_lake_s3 (TYPE s3, {options})"]


def lake_of(settings: Settings, catalog: str = INTERNAL, read_only: bool = False) -> Lake:
    if settings.lake is None or settings.lake_data is None:
        raise LakeConfigError("no lake configured: give --lake and --lake-data")
    return Lake(settings.lake, settings.lake_data, catalog, read_only)


@contextmanager
def connect_lake(
    lake: Lake, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the catalog attached and in use; always closed."""
    connection = duckdb.connect(":memory:", config={**NO_DOWNLOADS, "memory_limit": memory_limit})
    try:
        set_flow_session(connection)
        for statement in lake.statements():
            connection.execute(statement)
        yield connection
    finally:
        connection.close()


@contextmanager
def connect_internal(
    settings: Settings, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The internal warehouse, in either backend: the internal file, or the lake's internal
    catalog. Every stage opens it through here, so the same SQL runs on both."""
    if settings.lake is None:
        with connect(
            settings.internal_db, read_only=read_only, memory_limit=settings.duckdb_memory_limit
        ) as connection:
            yield connection
        return
    with connect_lake(
        lake_of(settings, INTERNAL, read_only), settings.duckdb_memory_limit
    ) as connection:
        yield connection


def internal_exists(settings: Settings) -> bool:
    """Whether there is an internal warehouse to read yet (a lake always has its catalog:
    attaching creates it)."""
    return settings.lake is not None or settings.internal_db.exists()


def internal_source(settings: Settings) -> Path | Lake:
    """What a reader of the internal warehouse opens: its file, or its catalog read-only."""
    if settings.lake is None:
        return settings.internal_db
    return lake_of(settings, INTERNAL, read_only=True)


@contextmanager
def connect_confined_lake(
    lake: Lake, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT, writable_file: Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published catalog, read-only, for SQL that analysts write: as connect_confined
    confines a published file. The catalog is attached before external access is switched off;
    DuckDB then reaches only the lake's data path (and `writable_file`), and the configuration
    is locked."""
    with tempfile.TemporaryDirectory(prefix="fmw-query-") as spill:
        config = {
            **CONFINED_CONFIG,
            "memory_limit": memory_limit,
            "temp_directory": str(Path(spill) / "spill"),
        }
        connection = duckdb.connect(":memory:", config=config)
        try:
            connection.execute("SET TimeZone = 'UTC'")
            for statement in lake.statements():
                connection.execute(statement)
            connection.execute("SET allowed_directories = ?", [[lake.data_path]])
            if writable_file is not None:
                connection.execute("SET allowed_paths = ?", [[str(writable_file)]])
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            yield connection
        finally:
            connection.close()


@contextmanager
def connect_analyst(
    database: Path | Lake,
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
    writable_file: Path | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """What `fmw query` and `fmw export` open: the published file or the published catalog,
    confined either way."""
    if isinstance(database, Lake):
        with connect_confined_lake(database, memory_limit, writable_file) as connection:
            yield connection
    else:
        with connect_confined(database, memory_limit, writable_file) as connection:
            yield connection


def is_published(database: Path | Lake) -> bool:
    """Whether there is anything for analysts to read yet."""
    if not isinstance(database, Lake):
        return database.exists()
    try:
        with connect_lake(database) as connection:
            (tables,) = connection.execute(
                f"SELECT count(*) FROM duckdb_tables() WHERE database_name = '{ALIAS}'"
            ).fetchone()
    except duckdb.InvalidInputException as error:
        if "creating a new DuckLake is explicitly disabled" in str(error):
            return False
        raise
    return tables > 0


def published_source(settings: Settings) -> Path | Lake:
    """What analysts read: the published file, or the lake's published catalog read-only."""
    if settings.lake is None:
        return settings.published_db
    return lake_of(settings, PUBLISHED, read_only=True)
