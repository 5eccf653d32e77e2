"""FMR tallies and exchange-rate overrides: a later file's rows for a delivery key
replace the earlier ones; bad rows are quarantined with their reason."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import duckdb

from flows.form.xlsform import Form
from flows.ingest.landing_zone import ingest_landing_zone

HEADER = [
    "date", "fmp", "direction", "sex", "age_group", "nationality", "transport", "count",
    "observer_id", "hours_observed",
]  # fmt: skip


def tally(date: str = "2026-03-01", fmp: str = "LAO_FMP_001", count: str = "4", **cells: str):
    row = dict(
        zip(
            HEADER,
            [date, fmp, "outflow", "male", "adults", "LAO", "bus", count, "OBS1", "8"],
            strict=True,
        )
    )
    return row | cells


def write_fmr(path: Path, rows: list[dict[str, str]], arrival: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    os.utime(path, (1_700_000_000 + arrival, 1_700_000_000 + arrival))
    return path


def _totals(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    rows = connection.execute(
        "SELECT date, fmp, sum(CAST(count AS INTEGER)) FROM raw.fmr_tallies GROUP BY ALL"
    ).fetchall()
    return {(d, f): n for d, f, n in rows}


def _counts(connection: duckdb.DuckDBPyConnection, name: str) -> tuple[int, int, int, int]:
    return connection.execute(
        "SELECT rows_read, rows_loaded, rows_duplicate, rows_quarantined FROM ops.file_loads "
        "WHERE file_name = ?",
        [name],
    ).fetchone()


def test_a_corrected_tally_replaces_the_whole_day_at_that_point(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path
):
    write_fmr(
        landing / "fmr" / "fmr_2026-03.csv",
        [tally(count="4"), tally(count="6", sex="female"), tally("2026-03-02", count="9")],
        arrival=1,
    )
    write_fmr(landing / "fmr" / "fmr_2026-03_corrected.csv", [tally(count="5")], arrival=2)

    ingest_landing_zone(warehouse, form, landing, "r1")

    assert _totals(warehouse) == {
        ("2026-03-01", "LAO_FMP_001"): 5,
        ("2026-03-02", "LAO_FMP_001"): 9,
    }
    assert _counts(warehouse, "fmr_2026-03_corrected.csv") == (1, 1, 0, 0)


def test_arrival_order_not_name_decides_which_tally_wins(warehouse, form, landing):
    write_fmr(landing / "fmr" / "b_first.csv", [tally(count="7")], arrival=1)
    write_fmr(landing / "fmr" / "a_second.csv", [tally(count="3")], arrival=2)

    ingest_landing_zone(warehouse, form, landing, "r1")

    assert _totals(warehouse) == {("2026-03-01", "LAO_FMP_001"): 3}


def test_a_resent_identical_day_counts_as_duplicate(warehouse, form, landing):
    write_fmr(landing / "fmr" / "one.csv", [tally(), tally("2026-03-02")], arrival=1)
    write_fmr(landing / "fmr" / "two.csv", [tally(), tally("2026-03-02", count="1")], arrival=2)

    ingest_landing_zone(warehouse, form, landing, "r1")

    assert _counts(warehouse, "two.csv") == (2, 1, 1, 0)


def test_bad_tally_rows_are_quarantined_and_the_rest_load(warehouse, form, landing):
    rows = [
        tally(),
        tally(count="-3"),
        tally(fmp="LAO_FMP_999"),
        tally(date="2026-13-01"),
        tally(nationality="XYZ"),
        tally(hours_observed="30"),
    ]
    write_fmr(landing / "fmr" / "fmr.csv", rows, arrival=1)

    ingest_landing_zone(warehouse, form, landing, "r1")

    assert _counts(warehouse, "fmr.csv") == (6, 1, 0, 5)
    reasons = warehouse.execute(
        "SELECT row_number, column_name FROM quarantine.rows ORDER BY row_number"
    ).fetchall()
    assert reasons == [
        (2, "count"),
        (3, "fmp"),
        (4, "date"),
        (5, "nationality"),
        (6, "hours_observed"),
    ]


def test_exchange_rate_overrides_load_and_bad_rates_are_quarantined(warehouse, form, landing):
    path = landing / "reference" / "fx_rates.csv"
    path.write_text("month,currency,lak_per_unit\n2026-03,CNY,3050.5\n2026-03,THB,-1\n")

    ingest_landing_zone(warehouse, form, landing, "r1")

    assert warehouse.execute(
        "SELECT month, currency, lak_per_unit FROM raw.fx_rates"
    ).fetchall() == [("2026-03", "CNY", "3050.5")]
    assert _counts(warehouse, "fx_rates.csv") == (2, 1, 0, 1)


def test_an_unknown_reference_file_fails_with_a_reason(warehouse, form, landing):
    (landing / "reference" / "population.csv").write_text("adm1,population\nLA-LM,200000\n")

    summary = ingest_landing_zone(warehouse, form, landing, "r1")

    assert "only fx_rates.csv" in (summary.failed[0].reason or "")
