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
from tests.helpers.prefect_server import PrefectApi, prefect_server  # noqa: E402


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
def sample_refresh(
    tmp_path_factory: pytest.TempPathFactory, prefect_harness: None
) -> dict[str, object]:
    """A generated landing zone (800 surveys, seed 7) after one refresh with the defaults
    (k 5, the disclosure audit gating publication), shared by the tests that only read it
    (tests/test_end_to_end.py, tests/disclosure/test_audit_of_the_publication.py,
    tests/transform/test_protection_end_to_end.py): copy `root` before changing anything.
    `outcome` is the refresh's outcome, published or blocked by a quality gate."""
    from flows.nightly import QualityGateFailed, nightly_refresh
    from flows.sample.generator import generate_landing_zone

    root = tmp_path_factory.mktemp("sample_800")
    manifest = generate_landing_zone(root / "landing", surveys=800, seed=7)
    try:
        outcome = nightly_refresh(landing_dir=str(root / "landing"), data_dir=str(root / "data"))
    except QualityGateFailed as blocked:
        outcome = blocked.outcome
    return {"root": root, "manifest": manifest, "outcome": outcome}


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectApi]:
    """One real Prefect server on loopback for the session, for the tests that run `fmw
    refresh` in a subprocess: given its URL (PrefectApi.env), a refresh does not start
    Prefect's ephemeral API, 10-15 s of each. The ephemeral API stays tested where it is the
    subject: tests/ops/test_ephemeral_api.py, one kill of tests/ops/test_kill_campaign.py,
    the permissions of its files (tests/warehouse/test_permissions.py) and the installed
    wheel's refresh (tests/test_packaging.py)."""
    root = tmp_path_factory.mktemp("prefect-api")
    (root / "client").mkdir()
    with prefect_server(root / "server") as url:
        yield PrefectApi(url, root / "client")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (Debian's binaries) for the whole session: the lake's catalog."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def lake(postgres: PostgresServer, tmp_path: Path) -> LakeUnderTest:
    """A new, empty lake: its own Postgres database and data folder."""
    return new_lake(postgres, tmp_path / "lake-data")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """--dist loadfile, with the files that share conftest.sample_refresh as one unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.helpers.xdist_schedule import UnitScheduling

    return UnitScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On pytest-xdist's workers, the longest files first (tests/helpers/xdist_schedule.py);
    a run without workers keeps pytest's order."""
    if hasattr(config, "workerinput"):
        from tests.helpers.xdist_schedule import longest_first

        longest_first(items)
