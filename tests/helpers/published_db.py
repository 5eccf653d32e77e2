"""Tiny hand-made published databases, with the published tables' shapes, for the
disclosure audit's tests: each table is created only when a test gives it rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

TABLES: dict[str, str] = {
    "marts.fms_corridor_monthly": (
        "month DATE, direction VARCHAR, origin_adm1_code VARCHAR, dest_country_iso3 VARCHAR, "
        "respondents BIGINT, female_respondents BIGINT, suppressed BOOLEAN"
    ),
    "marts.fms_safe_migration_quarterly": (
        "quarter DATE, direction VARCHAR, origin_adm1_code VARCHAR, dest_country_iso3 VARCHAR, "
        "indicator VARCHAR, category VARCHAR, corridor_respondents BIGINT, respondents BIGINT, "
        "share DOUBLE, median_debt_lak DOUBLE, suppressed BOOLEAN"
    ),
    "marts.fms_origin_profile_quarterly": (
        "quarter DATE, origin_adm1_code VARCHAR, origin_adm2_code VARCHAR, breakdown VARCHAR, "
        "category VARCHAR, area_respondents BIGINT, respondents BIGINT, share DOUBLE, "
        "suppressed BOOLEAN"
    ),
    "marts.story_coverage": "adm1_code VARCHAR, public_stories BIGINT, respondents BIGINT",
    "marts.crossing_point_monthly": (
        "month DATE, fmp_code VARCHAR, direction VARCHAR, registry_individuals BIGINT, "
        "registry_days BIGINT, respondents BIGINT, passport_holders BIGINT, "
        "border_pass_holders BIGINT, work_permit_holders BIGINT, share_passport DOUBLE, "
        "share_border_pass DOUBLE, share_work_permit DOUBLE, suppressed BOOLEAN"
    ),
    "marts.fms_refusals_monthly": (
        "month DATE, fmp_code VARCHAR, direction VARCHAR, people_approached BIGINT, "
        "refusals BIGINT, refusal_share DOUBLE, suppressed BOOLEAN"
    ),
    "marts.fms_income_uplift": (
        "direction VARCHAR, origin_adm1_code VARCHAR, dest_country_iso3 VARCHAR, "
        "sector_destination VARCHAR, respondents BIGINT, median_income_before_lak DOUBLE, "
        "median_income_destination_lak DOUBLE, median_income_before_usd DOUBLE, "
        "median_income_destination_usd DOUBLE, income_ratio DOUBLE, suppressed BOOLEAN"
    ),
    "ops.file_loads": (
        "source VARCHAR, file_name VARCHAR, sha256 VARCHAR, rows_read BIGINT, "
        "rows_loaded BIGINT, rows_duplicate BIGINT, rows_quarantined BIGINT, status VARCHAR, "
        "reason VARCHAR, loaded_at TIMESTAMP"
    ),
}


def published_db(path: Path, tables: dict[str, Sequence[dict[str, Any]]]) -> Path:
    """A DuckDB file holding `tables` (name -> rows as column -> value; missing columns NULL,
    and `suppressed` derived from the count being NULL when not given)."""
    connection = duckdb.connect(str(path))
    try:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE SCHEMA ops")
        for table, rows in tables.items():
            connection.execute(f"CREATE TABLE {table} ({TABLES[table]})")
            columns = [c.split()[0] for c in TABLES[table].split(", ")]
            for row in rows:
                values = {**row}
                if "suppressed" in columns and "suppressed" not in values:
                    values["suppressed"] = values.get("respondents") is None
                unknown = set(values) - set(columns)
                assert not unknown, f"{table} has no column {unknown}"
                connection.execute(
                    f"INSERT INTO {table} ({', '.join(values)}) "
                    f"VALUES ({', '.join('?' for _ in values)})",
                    list(values.values()),
                )
    finally:
        connection.close()
    return path
