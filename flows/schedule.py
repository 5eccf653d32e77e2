"""The scheduled nightly refresh: a Prefect deployment served by `fmw serve`."""

from __future__ import annotations

from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment

from flows.config import DEFAULT_SCHEDULE_CRON, DEFAULT_SCHEDULE_TIMEZONE
from flows.nightly import nightly_refresh

DEPLOYMENT_NAME = "nightly"


def nightly_deployment(
    cron: str = DEFAULT_SCHEDULE_CRON,
    timezone: str = DEFAULT_SCHEDULE_TIMEZONE,
    landing_dir: str | None = None,
    data_dir: str | None = None,
    kobo_asset: str | None = None,
    kobo_server: str | None = None,
) -> RunnerDeployment:
    """The deployment: one cron schedule, and at most one run at a time (one DuckDB writer).

    A scheduled run that finds a refresh still running waits for its lock. With `kobo_asset`,
    each run first pulls the asset's new submissions (the token comes from KOBO_TOKEN in the
    serving process's environment: it is no parameter, so it is in no run record).
    """
    return nightly_refresh.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[CronSchedule(cron=cron, timezone=timezone)],
        concurrency_limit=1,
        parameters={
            "landing_dir": landing_dir,
            "data_dir": data_dir,
            "wait_for_lock": True,
            "kobo_asset": kobo_asset,
            "kobo_server": kobo_server,
        },
        description="Nightly refresh of the Flow Monitoring Warehouse",
        tags=["fmw", "nightly"],
    )
