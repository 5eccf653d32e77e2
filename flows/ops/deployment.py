"""The nightly refresh registered on a Prefect process work pool, for workers to run.

`fmw serve` runs the deployment in its own process; here the deployment only is registered,
and any `prefect worker start --pool NAME` on a machine with this package installed runs
its flow runs. The flow's code is the installed package's (a module-path entrypoint,
`flows.nightly.nightly_refresh`): no git pull, no Docker image, no storage block.

One warehouse has one work queue in the pool, with a concurrency limit of 1: a data
directory's queue is named after the directory; a lake's (`--lake`) after the lake, its
catalog's database and its data path (flows.warehouse.lake_identity, never a credential),
whatever data directory each deployment keeps its run state in, since workers on several
machines refresh one lake. Prefect's server hands a worker a run of a queue only while
fewer than its limit of that queue's runs are pending or running, so two runs for one
warehouse never run at once, whichever worker polls, while the queues of other warehouses
dispatch in parallel; a run that waits is only a Scheduled row, not a started process.
A deployment's own concurrency limit would bound one deployment, not a warehouse that
several deployments (or a run with other parameters) refresh, and a pool's limit would
bound every warehouse together; the flow checks on its side that a run of a pool runs on
its warehouse's queue (check_run_queue), so a parameter or queue override cannot slip past.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.types.entrypoint import EntrypointType

from flows.config import DEFAULT_SCHEDULE_CRON, DEFAULT_SCHEDULE_TIMEZONE, Settings
from flows.warehouse.lake_identity import database_name, holds_password, lake_identity

PROCESS_POOL_TYPE = "process"
WAREHOUSE_CONCURRENCY = 1  # one DuckDB writer per warehouse


class DeploymentError(RuntimeError):
    """The deployment could not be registered; the message says what to do."""


class WrongWarehouseQueue(RuntimeError):
    """A pool's run is on another queue than its warehouse's: it could run beside another."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[-40:].strip("-") or "root"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def warehouse_key(data_dir: Path, lake: str | None = None, lake_data: str | None = None) -> str:
    """`<last folders>-<hash>`: readable, and distinct for every absolute data directory; on a
    lake `lake-<database and data path>-<hash>`, the same from every machine and data
    directory, and distinct for every lake."""
    if lake is None or lake_data is None:
        return f"{_slug(str(data_dir))}-{_hash(str(data_dir))}"
    identity = lake_identity(lake, lake_data)
    return f"lake-{_slug(f'{database_name(lake)} {lake_data}')}-{_hash(identity)}"


def warehouse_queue_name(
    data_dir: Path, lake: str | None = None, lake_data: str | None = None
) -> str:
    """The work queue of one warehouse, where every run that refreshes it waits its turn."""
    return f"warehouse-{warehouse_key(data_dir, lake, lake_data)}"


def default_deployment_name(
    data_dir: Path, lake: str | None = None, lake_data: str | None = None
) -> str:
    """`nightly-<warehouse>`; on a lake one per data directory as well, so that two machines'
    deployments of one lake (each with its run state) do not replace each other."""
    name = f"nightly-{warehouse_key(data_dir, lake, lake_data)}"
    return name if lake is None else f"{name}-{_hash(str(data_dir))}"


def describe_warehouse(
    data_dir: Path, lake: str | None = None, lake_data: str | None = None
) -> str:
    if lake is None or lake_data is None:
        return str(data_dir)
    return f"the lake {lake_identity(lake, lake_data)}"


def check_run_queue(
    work_pool: str | None,
    work_queue: str | None,
    data_dir: Path,
    lake: str | None = None,
    lake_data: str | None = None,
) -> None:
    """Refuse a work-pool run that is not on its warehouse's queue: that queue's limit is
    what keeps it from running beside another refresh of the same warehouse."""
    if not work_pool:
        return  # `fmw refresh` or `fmw serve`: the refresh lock alone orders those
    expected = warehouse_queue_name(data_dir, lake, lake_data)
    if work_queue != expected:
        deploy = f"fmw deploy --pool {work_pool} --data-dir {data_dir}"
        if lake is not None:
            deploy += f" --lake <its URL> --lake-data {lake_data}"
        raise WrongWarehouseQueue(
            f"this run refreshes {describe_warehouse(data_dir, lake, lake_data)}, whose runs go "
            f"one at a time through work queue {expected!r} of pool {work_pool!r}, but it was "
            f"queued on {work_queue!r}; run that warehouse's deployment ({deploy}) without "
            "overriding data_dir, the lake or the work queue (FMW_LAKE in a worker's "
            "environment moves its runs to the lake: deploy them with --lake)"
        )


@dataclass(frozen=True)
class PoolDeployment:
    deployment_id: UUID
    name: str  # flow/deployment, as `prefect deployment run` takes it
    work_pool: str
    work_queue: str
    data_dir: Path
    landing_dir: Path
    warehouse: str  # the data directory, or the lake (credential-free)


def pool_deployment(
    settings: Settings,
    work_pool: str,
    name: str | None = None,
    cron: str = DEFAULT_SCHEDULE_CRON,
    timezone: str = DEFAULT_SCHEDULE_TIMEZONE,
    kobo_asset: str | None = None,
    kobo_server: str | None = None,
) -> RunnerDeployment:
    """The deployment of one warehouse: its folders as absolute paths (a worker runs in a
    folder of its own), its lake if any, its queue, the same schedule and parameters as
    `fmw serve`'s."""
    from flows.nightly import nightly_refresh

    where = (settings.data_dir, settings.lake, settings.lake_data)
    parameters: dict[str, object] = {
        "landing_dir": str(settings.landing_dir),
        "data_dir": str(settings.data_dir),
        "wait_for_lock": True,
        "kobo_asset": kobo_asset,
        "kobo_server": kobo_server,
    }
    if settings.lake is not None:
        if holds_password(settings.lake):
            raise DeploymentError(
                "the --lake URL (FMW_LAKE) holds a password: a deployment's parameters are "
                "stored in the Prefect server's database and shown in its UI; leave it out of "
                "the URL and give it to each worker in PGPASSWORD or ~/.pgpass"
            )
        parameters |= {"lake": settings.lake, "lake_data": settings.lake_data}
    queue = warehouse_queue_name(*where)
    return nightly_refresh.to_deployment(
        name=name or default_deployment_name(*where),
        work_pool_name=work_pool,
        work_queue_name=queue,
        entrypoint_type=EntrypointType.MODULE_PATH,
        schedules=[CronSchedule(cron=cron, timezone=timezone)],
        parameters=parameters,
        description="Nightly refresh of the Flow Monitoring Warehouse in "
        + describe_warehouse(*where),
        tags=["fmw", "nightly", queue],
    )


def _check_pool(work_pool: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(work_pool)
        except ObjectNotFound:
            raise DeploymentError(
                f"no work pool {work_pool!r} on {client.api_url}: create it with "
                f"`prefect work-pool create {work_pool} --type {PROCESS_POOL_TYPE}`"
            ) from None
    if pool.type != PROCESS_POOL_TYPE:
        raise DeploymentError(
            f"work pool {work_pool!r} is of type {pool.type!r}; the refresh runs the installed "
            f"package, without an image: use a pool of type {PROCESS_POOL_TYPE!r}"
        )


def limit_warehouse_queue(work_pool: str, queue: str) -> None:
    """Create the warehouse's queue with its limit, or set the limit on the existing one."""
    with get_client(sync_client=True) as client:
        try:
            existing = client.read_work_queue_by_name(queue, work_pool_name=work_pool)
        except ObjectNotFound:
            client.create_work_queue(
                queue,
                description="Refreshes of one warehouse, one at a time (fmw deploy)",
                concurrency_limit=WAREHOUSE_CONCURRENCY,
                work_pool_name=work_pool,
            )
            return
        if existing.concurrency_limit != WAREHOUSE_CONCURRENCY:
            client.update_work_queue(existing.id, concurrency_limit=WAREHOUSE_CONCURRENCY)


def register_on_work_pool(
    settings: Settings,
    work_pool: str,
    name: str | None = None,
    cron: str = DEFAULT_SCHEDULE_CRON,
    timezone: str = DEFAULT_SCHEDULE_TIMEZONE,
    kobo_asset: str | None = None,
    kobo_server: str | None = None,
) -> PoolDeployment:
    """Register (or update) the warehouse's deployment on a process pool, its queue limited
    first: a queue that a deployment creates has no limit."""
    deployment = pool_deployment(settings, work_pool, name, cron, timezone, kobo_asset, kobo_server)
    _check_pool(work_pool)
    queue = deployment.work_queue_name
    limit_warehouse_queue(work_pool, queue)
    deployment_id = deployment.apply()
    return PoolDeployment(
        deployment_id=deployment_id,
        name=deployment.full_name,
        work_pool=work_pool,
        work_queue=queue,
        data_dir=settings.data_dir,
        landing_dir=settings.landing_dir,
        warehouse=describe_warehouse(settings.data_dir, settings.lake, settings.lake_data),
    )
