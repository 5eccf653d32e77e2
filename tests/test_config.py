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


def test_the_per_file_ingest_limits_come_from_fmw_settings(monkeypatch: pytest.MonkeyPatch):
    from flows.config import DEFAULT_INGEST_LIMITS, resolve_settings

    for name in ("FMW_MAX_CELL_KB", "FMW_MAX_FRONT_MATTER_KB", "FMW_MAX_NESTING_DEPTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FMW_MAX_PARSED_FILE_MB", "16")

    limits = resolve_settings().ingest_limits

    assert limits.max_parsed_file_bytes == 16 * 2**20
    assert limits.max_cell_bytes == DEFAULT_INGEST_LIMITS.max_cell_bytes == 2**20
    assert limits.max_front_matter_bytes == 64 * 2**10
    assert limits.max_nesting_depth == 32


@pytest.mark.parametrize("value", ["0", "-3", "lots"])
def test_an_ingest_limit_that_is_not_a_positive_integer_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
):
    from flows.config import resolve_settings

    monkeypatch.setenv("FMW_MAX_NESTING_DEPTH", value)

    with pytest.raises(ValueError, match="FMW_MAX_NESTING_DEPTH"):
        resolve_settings()
