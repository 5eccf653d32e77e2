"""Flow Monitoring Registry tallies: a (date, fmp) day at a point is the unit of delivery,
and a later file's rows for that pair replace the earlier ones entirely."""

from __future__ import annotations

import duckdb
import pycountry

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.form.xlsform import EARLIEST_INTERVIEW_DATE, Form
from flows.ingest.landing import LandingFile, LoadCounts
from flows.ingest.tabular import Checks, CsvSpec, load_validated_csv
from flows.sql import sql_list
from flows.warehouse.schema import FMR_COLUMNS

FMR_SPEC = CsvSpec(
    source="fmr",
    table="raw.fmr_tallies",
    columns=FMR_COLUMNS,
    key=("date", "fmp"),
    optional=("observer_id", "hours_observed"),
)
SEXES = ("female", "male", "unknown")
# One counted group at one point on one day: more would be a typing error, and would not
# even fit the integer dbt casts it to.
MAX_COUNT = 1_000_000
AGE_GROUPS = ("children", "adults", "elderly", "unknown")


def _not_in(column: str, values: tuple[str, ...] | list[str]) -> str:
    return f"NOT list_contains({sql_list(list(values))}, {column})"


def fmr_checks(form: Form) -> Checks:
    countries = sorted(c.alpha_3 for c in pycountry.countries)
    return {
        "date": [
            ("TRY_STRPTIME(date, '%Y-%m-%d') IS NULL", "not a date (YYYY-MM-DD)"),
            (
                f"TRY_STRPTIME(date, '%Y-%m-%d') < DATE '{EARLIEST_INTERVIEW_DATE}'",
                f"date before {EARLIEST_INTERVIEW_DATE}",
            ),
            # A day's tally is delivered after the day; one day of slack for time zones.
            (
                "CAST(TRY_STRPTIME(date, '%Y-%m-%d') AS DATE) > current_date + 1",
                "date in the future",
            ),
        ],
        "fmp": [(_not_in("fmp", form.choice_names("fmp")), "not in choice list fmp")],
        "direction": [
            (_not_in("direction", form.choice_names("direction")), "not in choice list direction")
        ],
        "sex": [(_not_in("sex", SEXES), "not one of female, male, unknown")],
        "age_group": [
            (_not_in("age_group", AGE_GROUPS), "not one of children, adults, elderly, unknown")
        ],
        "nationality": [(_not_in("nationality", countries), "not an ISO 3166-1 alpha-3 code")],
        "transport": [
            (_not_in("transport", form.choice_names("transport")), "not in choice list transport")
        ],
        "count": [
            ("NOT regexp_matches(count, '^[0-9]+$')", "not an integer of at least 0"),
            (
                "regexp_matches(count, '^[0-9]+$') AND "
                f"coalesce(TRY_CAST(count AS BIGINT) > {MAX_COUNT}, true)",
                f"more than {MAX_COUNT:,} people in one counted group",
            ),
        ],
        "hours_observed": [
            (
                "NOT coalesce(TRY_CAST(hours_observed AS DOUBLE) BETWEEN 0 AND 24, false)",
                "not a number of hours between 0 and 24",
            )
        ],
    }


def load_fmr_file(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    run_id: str,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> LoadCounts:
    return load_validated_csv(connection, FMR_SPEC, fmr_checks(form), landing, run_id, limits)
