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


def test_a_kobo_asset_is_pulled_by_the_same_deployment_and_its_token_is_no_parameter():
    deployment = nightly_deployment(kobo_asset="aLaoFms", kobo_server="https://kf.example.org")

    assert deployment.parameters["kobo_asset"] == "aLaoFms"
    assert deployment.parameters["kobo_server"] == "https://kf.example.org"
    assert "token" not in " ".join(deployment.parameters).lower()
