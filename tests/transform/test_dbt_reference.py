"""dbt tier, no build needed: the shipped seeds and the hand-built raw layer agree with
the maintained sources they stand for (pycountry, the form, ingest's DDL)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pycountry

from flows.form.xlsform import default_form
from flows.warehouse.schema import ensure_schema
from tests.helpers.dbt_fixtures import DBT_PROJECT_DIR, create_raw_layer


def test_m49_seed_agrees_with_pycountry_and_covers_the_form() -> None:
    seed = DBT_PROJECT_DIR / "seeds" / "m49_countries.csv"
    with seed.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        country = pycountry.countries.get(alpha_3=row["country_iso3"])
        assert country is not None, row
        assert country.numeric == row["m49_code"], row
    form_countries = {
        choice.name for choice in default_form().choices["country"] if choice.name != "other"
    }
    assert {row["country_iso3"] for row in rows} == form_countries


def test_fixture_raw_layer_has_the_columns_ingest_writes(tmp_path: Path) -> None:
    """The fixture builds the raw layer by hand; it must not drift from ingest's DDL."""
    fixture_db, ingest_db = tmp_path / "fixture.duckdb", tmp_path / "ingest.duckdb"
    create_raw_layer(fixture_db)
    with duckdb.connect(str(ingest_db)) as con:
        ensure_schema(con, default_form())
    sql = (
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = 'raw' and table_name in"
        " ('fms_submissions', 'fmr_tallies', 'stories', 'fx_rates') order by all"
    )
    with duckdb.connect(str(fixture_db)) as fixture, duckdb.connect(str(ingest_db)) as ingest:
        assert fixture.execute(sql).fetchall() == ingest.execute(sql).fetchall()


def test_fx_seed_covers_every_month_and_currency_of_2025_and_2026() -> None:
    seed = DBT_PROJECT_DIR / "seeds" / "fx_rates_monthly.csv"
    with seed.open(encoding="utf-8") as handle:
        rates = {
            (r["month"], r["currency"]): float(r["lak_per_unit"]) for r in csv.DictReader(handle)
        }
    months = [f"{year}-{month:02d}" for year in (2025, 2026) for month in range(1, 13)]
    currencies = ("CNY", "THB", "VND", "USD", "MYR", "KRW")
    assert set(rates) == {(m, c) for m in months for c in currencies}
    assert all(rate > 0 for rate in rates.values())
    # the form's currencies are all there (LAK is 1 by definition)
    form_currencies = {c.name for c in default_form().choices["currency"]} - {"LAK"}
    assert form_currencies == set(currencies)
