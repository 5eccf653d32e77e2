"""A tiny raw layer for the dbt tier: the tables the ingest stage writes, built with SQL.

The shapes follow the raw-layer contract the dbt sources declare
(dbt_project/models/staging/*/_*__sources.yml): every form value is VARCHAR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pycountry

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

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
    "residence_adm1_code", "residence_adm2_code", "residence_match_quality", "origin_place",
    "origin_adm1_code", "origin_adm2_code", "origin_match_quality", "destination_country",
    "destination_area", "sector_before", "sector", "channel", "themes",
    "collected_programme", "collected_activity", "collected_fmp", "body", "source_file",
    "loaded_run_id",
)  # fmt: skip

CHOICE_COLUMNS = ("list_name", "name", "label", "country", "adm1", "adm2", "fmp_type", "neighbour")


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
    """Create the empty raw and reference schemas, with the reference data filled in."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create schema reference")
        con.execute(_ddl("raw.fms_submissions", FMS_COLUMNS, _NON_VARCHAR))
        con.execute(_ddl("raw.fmr_tallies", FMR_COLUMNS, {"source_row": "INTEGER"}))
        con.execute(_ddl("raw.stories", STORY_COLUMNS, {"themes": "VARCHAR[]"}))
        con.execute(_ddl("reference.form_choices", CHOICE_COLUMNS, {}))
        con.execute(
            "create table reference.adm1 (adm1_code VARCHAR, country_iso3 VARCHAR,"
            " name_en VARCHAR, name_lo VARCHAR)"
        )
        for sub in pycountry.subdivisions.get(country_code="LA"):
            con.execute(
                "insert into reference.adm1 values (?, 'LAO', ?, NULL)", [sub.code, sub.name]
            )
        for code, label, adm1 in (
            ("LAO_FMP_001", "Boten - Mohan road crossing", "LA-LM"),
            ("LAO_FMP_004", "Lantui crossing", "LA-PH"),
            ("LAO_FMP_005", "First Thai-Lao Friendship Bridge", "LA-VT"),
        ):
            _insert(
                con,
                "reference.form_choices",
                CHOICE_COLUMNS,
                {"list_name": "fmp", "name": code, "label": label, "country": "LAO", "adm1": adm1},
            )


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


def insert_tallies(path: Path, rows: list[dict[str, Any]]) -> None:
    with duckdb.connect(str(path)) as con:
        for row in rows:
            _insert(con, "raw.fmr_tallies", FMR_COLUMNS, row)


def insert_stories(path: Path, rows: list[dict[str, Any]]) -> None:
    with duckdb.connect(str(path)) as con:
        for row in rows:
            _insert(con, "raw.stories", STORY_COLUMNS, row)
