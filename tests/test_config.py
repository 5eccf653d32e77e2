"""Configuration: what every process of the warehouse switches off before it runs a tool."""

from __future__ import annotations

import pytest
from prefect._internal.analytics import enabled as prefect_telemetry

from flows.config import TELEMETRY_SWITCHES, switch_off_telemetry


def test_no_tool_may_report_usage_from_a_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TELEMETRY_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    # Off in CI anyway; outside CI only the switches keep Prefect's client quiet.
    monkeypatch.setattr(prefect_telemetry, "is_ci_environment", lambda: False)
    assert prefect_telemetry.is_telemetry_enabled()  # what a bare process would do

    switch_off_telemetry()

    assert not prefect_telemetry.is_telemetry_enabled()
    assert TELEMETRY_SWITCHES["GX_ANALYTICS_ENABLED"] == "False"
    assert TELEMETRY_SWITCHES["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"
