"""A tiny raw layer for the dbt tier: the tables the ingest stage writes, built with SQL.

The shapes follow the raw-layer contract the dbt sources declare
(dbt_project/models/staging/*/_*__sources.yml): every form value is VARCHAR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from dbt.cli.main import dbtRunner, dbtRunnerResult

from flows.form.xlsform import default_form
from flows.ingest.reference import load_reference_tables
from flows.transform.dbt import release_dbt_database

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

FMS_FORM_FIELDS = (
    "start", "end", "today", "fmp", "enumerator_id", "direction", "consent", "sex", "age",
    "nationality", "ethnicity", "marital_status", "education", "children", "origin_adm1",
    "origin_adm2", "dest_country", "dest_area", "reason", "transport", "travel_with",
    "journey_cost_lak", "cost_paid_by", "debt_lak", "employment_before", "sector_before",
    "income_before_lak", "job_secured", "sector_destination", "expected_income",
    "expected_income_currency", "recruitment_channel", "has_contract", "documents",
    "intended_stay", "previous_migrations", "plans_remit", "risks_experienced",
)  # fmt: skip
FMS_COLUMNS = (
    ("_uuid", "_id", "_submission_time", "_validation_status", "_status", "__version__", "_tags")
    + ("instance_id", "deprecated_id")
    + FMS_FORM_FIELDS
    + ("extra_columns", "source_file", "source_row", "row_hash", "loaded_run_id", "loaded_at")
)
_NON_VARCHAR = {"source_row": "INTEGER", "loaded_at": "TIMESTAMP"}

FMR_COLUMNS = (
    "date", "fmp", "direction", "sex", "age_group", "nationality", "transport", "count",
    "observer_id", "hours_observed", "source_file", "source_row", "loaded_run_id",
)  # fmt: skip

STORY_COLUMNS = (
    "id", "title", "published", "language", "url", "consent", "pseudonym", "person_age",
    "person_sex", "person_ethnicity", "person_children", "residence_place",
    "residence_adm1_code", "residence_adm2_code", "residence_match_quality",
    "residence_match_note", "origin_place", "origin_adm1_code", "origin_adm2_code",
    "origin_match_quality", "origin_match_note", "destination_country", "destination_area",
    "sector_before", "sector", "channel", "themes", "collected_programme",
    "collected_activity", "collected_fmp", "body", "row_hash", "source_file", "loaded_run_id",
)  # fmt: skip

FX_COLUMNS = ("month", "currency", "lak_per_unit", "source_file", "source_row", "loaded_run_id")


def invoke_dbt(args: list[str]) -> dbtRunnerResult:
    """dbt invoked in-process, its database released when it returns, as the flow does:
    the profile keeps the file open for the whole invocation (flows.transform.dbt)."""
    try:
        return dbtRunner().invoke(args)
    finally:
        release_dbt_database()


def _ddl(table: str, columns: tuple[str, ...], types: dict[str, str]) -> str:
    cols = ", ".join(f'"{c}" {types.get(c, "VARCHAR")}' for c in columns)
    return f"create table {table} ({cols})"


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], row: dict
) -> None:
    unknown = set(row) - set(columns)
    if unknown:
        raise ValueError(f"{table} has no columns {sorted(unknown)}")
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    con.execute(f"insert into {table} ({names}) values ({marks})", [row.get(c) for c in columns])


def create_raw_layer(path: Path) -> None:
    """Create the empty raw tables, and the reference tables exactly as ingest fills them
    (the form's choices and pycountry's Lao provinces, through flows.ingest.reference)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create schema reference")
        con.execute(_ddl("raw.fms_submissions", FMS_COLUMNS, _NON_VARCHAR))
        con.execute(_ddl("raw.fmr_tallies", FMR_COLUMNS, {"source_row": "INTEGER"}))
        con.execute(_ddl("raw.stories", STORY_COLUMNS, {"themes": "VARCHAR[]"}))
        con.execute(_ddl("raw.fx_rates", FX_COLUMNS, {"source_row": "INTEGER"}))
        load_reference_tables(con, default_form())


def submission(uuid: str, kobo_id: int, **fields: Any) -> dict[str, Any]:
    """A raw FMS row: a consenting outflow interview unless fields say otherwise."""
    row: dict[str, Any] = {
        "_uuid": uuid,
        "_id": str(kobo_id),
        "_submission_time": "2026-03-10T03:00:00",
        "instance_id": f"uuid:{uuid}",
        "start": "2026-03-10T08:00:00.000+07:00",
        "end": "2026-03-10T08:20:00.000+07:00",
        "today": "2026-03-10",
        "fmp": "LAO_FMP_001",
        "enumerator_id": "enum01",
        "direction": "outflow",
        "consent": "yes",
        "sex": "male",
        "age": "30",
        "nationality": "LAO",
        "origin_adm1": "LA-LM",
        "origin_adm2": "LA0301",
        "dest_country": "THA",
        "reason": "economic",
        "transport": "bus minivan",
        "cost_paid_by": "savings",
        "sector_before": "agriculture",
        "income_before_lak": "2000000",
        "sector_destination": "construction",
        "expected_income": "9000",
        "expected_income_currency": "THB",
        "recruitment_channel": "informal_broker",
        "has_contract": "yes",
        "documents": "border_pass work_permit",
        "extra_columns": "{}",
        "source_file": "fms/export.csv",
        "source_row": kobo_id,
        "row_hash": f"hash-{uuid}",
        "loaded_run_id": "run-1",
        "loaded_at": "2026-03-11 00:00:00",
    }
    if fields.get("consent") == "no":
        for name in FMS_FORM_FIELDS[7:]:
            row[name] = None
    row.update(fields)
    return row


def insert_submissions(path: Path, rows: list[dict[str, Any]]) -> None:
    with duckdb.connect(str(path)) as con:
        for row in rows:
            _insert(con, "raw.fms_submissions", FMS_COLUMNS, row)


def replace_submissions(path: Path, rows: list[dict[str, Any]]) -> None:
    """What ingest does with a changed submission: the new content replaces the held row."""
    with duckdb.connect(str(path)) as con:
        for row in rows:
            con.execute('delete from raw.fms_submissions where "_uuid" = ?', [row["_uuid"]])
            _insert(con, "raw.fms_submissions", FMS_COLUMNS, row)


def insert_tallies(path: Path, rows: list[dict[str, Any]]) -> None:
    with duckdb.connect(str(path)) as con:
        for row in rows:
            _insert(con, "raw.fmr_tallies", FMR_COLUMNS, row)


def insert_stories(path: Path, rows: list[dict[str, Any]]) -> None:
    with duckdb.connect(str(path)) as con:
        for row in rows:
            _insert(con, "raw.stories", STORY_COLUMNS, row)


def insert_fx_rates(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """Landing-zone exchange-rate overrides: (month 'YYYY-MM', currency, lak_per_unit)."""
    with duckdb.connect(str(path)) as con:
        for number, (month, currency, rate) in enumerate(rows, start=1):
            _insert(
                con,
                "raw.fx_rates",
                FX_COLUMNS,
                {"month": month, "currency": currency, "lak_per_unit": rate,
                 "source_file": "reference/fx_rates.csv", "source_row": number,
                 "loaded_run_id": "run-1"},
            )  # fmt: skip
