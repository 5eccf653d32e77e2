"""The nightly deployment: 02:00 in Asia/Vientiane by default, one run at a time."""

from __future__ import annotations

from flows.schedule import nightly_deployment


def test_the_default_schedule_is_two_in_the_morning_in_vientiane():
    deployment = nightly_deployment()

    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "Asia/Vientiane")
    assert deployment.concurrency_limit == 1
    assert deployment.parameters["wait_for_lock"] is True


def test_the_schedule_and_folders_are_configurable():
    deployment = nightly_deployment(cron="30 1 * * 1-5", timezone="UTC", data_dir="/srv/fmw")

    assert deployment.schedules[0].schedule.cron == "30 1 * * 1-5"
    assert deployment.parameters["data_dir"] == "/srv/fmw"
