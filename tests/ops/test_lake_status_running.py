"""`fmw status --lake` says when a refresh of the lake runs, from whichever machine: the holder of
the lake's Postgres lock, and only this lake's (every lake's lock has the same key)."""

from __future__ import annotations

import os

from flows.config import resolve_settings
from flows.ops.lake_lock import lake_lock
from flows.ops.status import status_report
from tests.helpers.postgres import new_lake


def _dsn(lake) -> str:  # noqa: ANN001 - LakeUnderTest
    return lake.url.removeprefix("ducklake:postgres:")


def test_status_names_the_refresh_that_holds_this_lake_and_no_other_lakes(lake, postgres, tmp_path):
    other = new_lake(postgres, tmp_path / "other-lake-data")
    settings = resolve_settings(
        data_dir=tmp_path / "this-machine", lake=lake.url, lake_data=str(lake.data)
    )
    running = "a refresh is running on this lake now"

    assert running not in status_report(settings)
    with lake_lock(_dsn(other)):  # another lake in the same Postgres cluster
        assert running not in status_report(settings)
    with lake_lock(_dsn(lake)):  # another machine's refresh: no local lock here
        report = status_report(settings)
    assert f"{running} (fmw refresh pid {os.getpid()} on " in report
    assert running not in status_report(settings)
