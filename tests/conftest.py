from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.config import switch_off_telemetry  # noqa: E402

switch_off_telemetry()

from flows.form.xlsform import Form, default_form  # noqa: E402
from flows.warehouse.schema import ensure_schema  # noqa: E402
from tests.helpers.postgres import (  # noqa: E402
    LakeUnderTest,
    PostgresServer,
    new_lake,
    postgres_server,
)


@pytest.fixture(scope="session")
def form() -> Form:
    return default_form()


@pytest.fixture
def warehouse(tmp_path: Path, form: Form) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "internal.duckdb"))
    ensure_schema(connection, form)
    yield connection
    connection.close()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    for source in ("fms", "fmr", "stories", "reference"):
        (path / source).mkdir(parents=True)
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One ephemeral Prefect API for the whole session, only for tests that run flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (Debian's binaries) for the whole session: the lake's catalog."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def lake(postgres: PostgresServer, tmp_path: Path) -> LakeUnderTest:
    """A new, empty lake: its own Postgres database and data folder."""
    return new_lake(postgres, tmp_path / "lake-data")
