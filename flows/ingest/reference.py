"""Reference data: the form's choice lists and Lao provinces (pycountry), and the
landing zone's optional exchange-rate overrides (`reference/fx_rates.csv`)."""

from __future__ import annotations

import gettext

import duckdb
import pandas as pd
import pycountry

from flows.config import DEFAULT_INGEST_LIMITS, IngestLimits
from flows.form.xlsform import Form
from flows.ingest.landing import LandingFile, LoadCounts
from flows.ingest.tabular import CsvSpec, load_validated_csv
from flows.warehouse.connection import transaction

CHOICE_ATTRIBUTES = ("country", "adm1", "adm2", "fmp_type", "neighbour")

FX_RATES_SPEC = CsvSpec(
    source="reference",
    table="raw.fx_rates",
    columns=("month", "currency", "lak_per_unit"),
    key=("month", "currency"),
)


def lao_provinces() -> pd.DataFrame:
    """ISO 3166-2 subdivisions of Lao PDR with their English and Lao names."""
    lao = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["lo"])
    rows = [
        {
            "adm1_code": s.code,
            "country_iso3": "LAO",
            "name_en": s.name,
            "name_lo": lao.gettext(s.name) if lao.gettext(s.name) != s.name else None,
        }
        for s in sorted(pycountry.subdivisions.get(country_code="LA"), key=lambda s: s.code)
    ]
    return pd.DataFrame(rows)


def form_choices(form: Form) -> pd.DataFrame:
    rows = [
        {
            "list_name": choice.list_name,
            "name": choice.name,
            "label": choice.label,
            **{a: choice.attributes.get(a) for a in CHOICE_ATTRIBUTES},
        }
        for choices in form.choices.values()
        for choice in choices
    ]
    return pd.DataFrame(rows, columns=["list_name", "name", "label", *CHOICE_ATTRIBUTES])


def load_reference_tables(connection: duckdb.DuckDBPyConnection, form: Form) -> None:
    """Rebuild the reference tables from their maintained sources, in one transaction."""
    with transaction(connection):
        for table, frame in (
            ("reference.form_choices", form_choices(form)),
            ("reference.adm1", lao_provinces()),
        ):
            connection.register("reference_frame", frame)
            connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM reference_frame")
            connection.unregister("reference_frame")


def fx_rate_checks(form: Form) -> dict[str, list[tuple[str, str]]]:
    """SQL conditions that make an exchange-rate row invalid, per column."""
    return {
        "month": [("TRY_STRPTIME(month, '%Y-%m') IS NULL", "not a month (YYYY-MM)")],
        "currency": [
            ("NOT regexp_matches(currency, '^[A-Z]{3}$')", "not an ISO 4217 currency code"),
        ],
        "lak_per_unit": [
            (
                "NOT isfinite(coalesce(TRY_CAST(lak_per_unit AS DOUBLE), 0)) "
                "OR coalesce(TRY_CAST(lak_per_unit AS DOUBLE), 0) <= 0",
                "not a positive, finite number of LAK",
            )
        ],
    }


def load_reference_file(
    connection: duckdb.DuckDBPyConnection,
    form: Form,
    landing: LandingFile,
    run_id: str,
    limits: IngestLimits = DEFAULT_INGEST_LIMITS,
) -> LoadCounts:
    if landing.name != "fx_rates.csv":
        raise ValueError(
            f"unknown reference file {landing.shown_name!r}: only fx_rates.csv is accepted"
        )
    return load_validated_csv(
        connection, FX_RATES_SPEC, fx_rate_checks(form), landing, run_id, limits
    )
