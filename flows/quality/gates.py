"""Quality gates: run the committed expectation suites on a refresh's data and decide whether
the candidate database may be published.

Where each suite runs, all inside DuckDB on read-only files:
- RAW_SUITES on the internal database, after ingest and dbt have closed their connections;
- PUBLISHED_SUITES (one per contract table) on the candidate published database;
- EVERY_TABLE_SUITE on every table of the candidate, including tables no suite names yet:
  row count against the previous published database, direct identifiers, k;
- the disclosure audit (flows.disclosure.gate, not a GX suite) on the candidate as a whole:
  what a reader can derive about its suppressed counts (Settings.disclosure_audit).

A critical check that fails blocks publication. A check that could not be evaluated (GX
raised instead of giving a verdict) is neither a pass nor a data failure: it is reported
as an error, and a critical one blocks publication too, because nobody verified the data.

Every run keeps GX's full results under `<data-dir>/internal/quality/<run_id>/`
(flows.quality.records) and renders them as Data Docs under `<data-dir>/internal/data_docs/`
(flows.quality.data_docs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from flows.config import EXPECTATIONS_DIR, Settings
from flows.quality.results import (
    MAX_DATE_PARAMETER,
    CheckResult,
    NewRows,
    ParameterValue,
    SuiteValidation,
)
from flows.warehouse.connection import connect
from flows.warehouse.lake import connect_internal, internal_source

RAW_SUITES = ("raw_fms_submissions", "raw_fmr_tallies", "raw_stories")
# Raw suites whose row-level checks run only on the rows loaded since a run with the same
# suite, parameters and code passed its gates (suite -> the column that stamps when a row was
# loaded): a row is judged on its own, so the verdict it got stands. A run whose gates block, or
# in which a check of the suite could not be evaluated, leaves the mark where it was, so its
# rows are checked again next time.
NEW_ROWS_ONLY = {"raw_fms_submissions": "loaded_at"}
PUBLISHED_SUITES = ("marts_fms_corridor_monthly", "marts_fmr_daily_flows", "marts_story_coverage")
EVERY_TABLE_SUITE = "published_table"
CHECKED_SCHEMAS = ("marts", "ops")

# Counts of the facts the marts are built from, read from the internal database: the published
# totals must reconcile with them (the marts suites read them as run parameters).
# The internal totals each published suite compares its mart with, from the dbt project's
# declared interface for the gates (models/audit/audit_quality_facts.sql).
FACTS_RELATION = "audit.audit_quality_facts"
FACTS = ("fms_respondents", "public_stories", "registry_individuals")


@dataclass(frozen=True)
class ValidatedMark:
    """How far a run's raw suite validates its table: every row loaded up to
    `validated_through`. Recorded (ops.raw_validations) only once the run's gates pass."""

    suite: str
    fingerprint: str  # see suite_fingerprint
    max_interview_date: date
    validated_through: datetime | None  # None: the table is empty


@dataclass(frozen=True)
class QualityReport:
    results: list[CheckResult]
    validations: list[SuiteValidation] = field(default_factory=list, repr=False)
    marks: list[ValidatedMark] = field(default_factory=list)
    disclosure: str = ""  # the disclosure audit's summary line, when it ran

    @classmethod
    def of(
        cls,
        validations: list[SuiteValidation],
        marks: list[ValidatedMark] | None = None,
        extra: list[CheckResult] | None = None,
        disclosure: str = "",
    ) -> QualityReport:
        checks = [check for v in validations for check in v.checks] + (extra or [])
        return cls(checks, validations, marks or [], disclosure)

    def with_disclosure(self, checks: list[CheckResult], summary: str) -> QualityReport:
        """This report with the disclosure audit's verdicts, run beside its suites."""
        return QualityReport.of(self.validations, self.marks, checks, summary)

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "critical" and r.success is False]

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.success is None]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "warning" and r.success is False]

    @property
    def blocks_publication(self) -> bool:
        return bool(self.critical_failures) or any(r.severity == "critical" for r in self.errors)

    def summary(self) -> str:
        passed = sum(1 for r in self.results if r.success is True)
        line = (
            f"{passed}/{len(self.results)} checks passed, "
            f"{len(self.critical_failures)} critical failures, {len(self.warnings)} warnings, "
            f"{len(self.errors)} could not be evaluated"
        )
        return f"{line}; disclosure audit: {self.disclosure}" if self.disclosure else line


# --- running the gates ---------------------------------------------------------------------


def run_quality_gates(
    settings: Settings, candidate: Path, today: date | None = None
) -> QualityReport:
    """Every suite of a refresh: raw suites on the internal database, the rest on the candidate.

    A refresh runs this in its quality worker (flows.quality.worker_parent), the one process that
    imports Great Expectations.
    """
    from flows.quality.gx_duckdb import ValidationSession

    parameters = run_parameters(settings, today or date.today())
    previous = published_row_counts(settings)
    candidate_tables = tables(candidate)  # read before the session holds the file read-only
    with connect_internal(settings, read_only=True) as connection:
        marks = [validated_mark(connection, suite, parameters) for suite in NEW_ROWS_ONLY]
        new_rows = {
            mark.suite: None if settings.full_refresh else rows_to_validate(connection, mark)
            for mark in marks
        }
    with ValidationSession(settings.duckdb_memory_limit) as session:
        # Raw rows are respondent-level: their values stay in the internal results and Data
        # Docs, out of the verdicts, which reach ops tables, run messages and the published
        # database.
        validations = [
            session.validate(
                internal_source(settings),
                suite,
                EXPECTATIONS_DIR,
                parameters,
                values_in_observed=False,
                new_rows=new_rows.get(suite),
            )
            for suite in RAW_SUITES
        ]
        validations += [
            session.validate(candidate, suite, EXPECTATIONS_DIR, parameters)
            for suite in PUBLISHED_SUITES
        ]
        for table in candidate_tables:
            minimum = min_row_count(previous.get(table, 0))
            table_parameters = {**parameters, "min_row_count": minimum}
            validations.append(
                session.validate(
                    candidate, EVERY_TABLE_SUITE, EXPECTATIONS_DIR, table_parameters, table
                )
            )
    marks = [m for m in marks if m.validated_through is not None]
    if not settings.disclosure_audit:
        return QualityReport.of(validations, marks)
    from flows.disclosure.gate import disclosure_gate

    verdict = disclosure_gate(candidate, settings.suppression_k)
    return QualityReport.of(validations, marks).with_disclosure(verdict.checks, verdict.summary)


def suite_fingerprint(suite: Any, parameters: Mapping[str, ParameterValue]) -> str:
    """What the verdicts of a suite's row-level checks depend on: its expectations, the values
    of the parameters it reads (but the date bound), and the code that evaluates them (GX,
    DuckDB, flows.quality.gx_duckdb's workarounds).

    A later date bound accepts every row an earlier one did, so it does not change the verdicts
    of rows already validated (rows_to_validate checks that it did not move back).
    """
    import great_expectations

    import flows.quality.gx_duckdb

    read = sorted(flows.quality.gx_duckdb.suite_parameters(suite) - {MAX_DATE_PARAMETER})
    values = [[name, str(parameters.get(name))] for name in read]
    code = [
        great_expectations.__version__,
        duckdb.__version__,
        hashlib.sha256(Path(flows.quality.gx_duckdb.__file__).read_bytes()).hexdigest(),
    ]
    content = [suite.to_json_dict(), values, code]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def validated_mark(
    connection: duckdb.DuckDBPyConnection,
    suite_name: str,
    parameters: Mapping[str, ParameterValue],
) -> ValidatedMark:
    """What this run validates of the suite's table: every row loaded up to now."""
    from flows.quality.gx_duckdb import load_suite

    suite = load_suite(suite_name, EXPECTATIONS_DIR)
    column = NEW_ROWS_ONLY[suite_name]
    (through,) = connection.execute(f"SELECT max({column}) FROM {suite.meta['table']}").fetchone()
    max_date = parameters[MAX_DATE_PARAMETER]
    assert isinstance(max_date, date)
    return ValidatedMark(suite_name, suite_fingerprint(suite, parameters), max_date, through)


def rows_to_validate(connection: duckdb.DuckDBPyConnection, mark: ValidatedMark) -> NewRows | None:
    """The rows loaded after the suite last passed with the same fingerprint and a date bound no
    later than this run's; None when it never did: then every row."""
    (after,) = connection.execute(
        "SELECT max(validated_through) FROM ops.raw_validations "
        "WHERE suite = ? AND fingerprint = ? AND max_interview_date <= ?",
        [mark.suite, mark.fingerprint, mark.max_interview_date],
    ).fetchone()
    return None if after is None else NewRows(NEW_ROWS_ONLY[mark.suite], after)


def record_validated_marks(
    connection: duckdb.DuckDBPyConnection, run_id: str, report: QualityReport
) -> None:
    """Remember how far the raw suites validated, once the run's gates let it publish.

    A warning that failed does not hold the mark back: like any warning it is reported, in the
    run that loaded the rows, and its rows are published.
    """
    if report.blocks_publication:
        return
    # A check that could not be evaluated (even a warning) did not judge the rows.
    unevaluated = {r.suite for r in report.errors}
    marks = [m for m in report.marks if m.suite not in unevaluated]
    if marks:
        connection.executemany(
            "INSERT INTO ops.raw_validations VALUES (?, ?, ?, ?, ?)",
            [
                (m.suite, m.fingerprint, m.max_interview_date, m.validated_through, run_id)
                for m in marks
            ],
        )


def run_parameters(settings: Settings, today: date) -> dict[str, ParameterValue]:
    """What the suites read at run time: the run's k, its date, and the facts' counts."""
    return {
        "k": settings.suppression_k,
        # `today` is the interview's local date (UTC+7): up to a day ahead of this machine's.
        MAX_DATE_PARAMETER: today + timedelta(days=1),
        **_internal_fact_counts(settings),
    }


def fact_counts(internal_db: Path) -> dict[str, ParameterValue]:
    with connect(internal_db, read_only=True) as connection:
        return _fact_counts_of(connection)


def _internal_fact_counts(settings: Settings) -> dict[str, ParameterValue]:
    """fact_counts of the internal warehouse, in either backend."""
    with connect_internal(settings, read_only=True) as connection:
        return _fact_counts_of(connection)


def _fact_counts_of(connection: duckdb.DuckDBPyConnection) -> dict[str, ParameterValue]:
    row = connection.execute(f"SELECT {', '.join(FACTS)} FROM {FACTS_RELATION}").fetchone()
    return {name: int(value) for name, value in zip(FACTS, row, strict=True)}


def tables(database: Path) -> list[str]:
    """The tables of a database in CHECKED_SCHEMAS, as schema.table."""
    with connect(database, read_only=True) as connection:
        return _tables_of(connection)


def row_counts(database: Path) -> dict[str, int]:
    """Rows per table of a published database; empty when none has been published yet."""
    if not database.is_file():
        return {}
    with connect(database, read_only=True) as connection:
        return _row_counts_of(connection)


def published_row_counts(settings: Settings) -> dict[str, int]:
    """Rows per table of what analysts see now: the published file, or the lake's published
    catalog."""
    if settings.lake is None:
        return row_counts(settings.published_db)
    from flows.publish.lake_release import connect_published

    with connect_published(settings) as connection:
        return {} if connection is None else _row_counts_of(connection)


def _row_counts_of(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        table: _scalar(connection, f"SELECT count(*) FROM {table}")
        for table in _tables_of(connection)
    }


def min_row_count(previous_rows: int) -> int:
    """The fewest rows a table may have: not down by more than half (ceil(previous / 2))."""
    return (previous_rows + 1) // 2


def _tables_of(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name IN (SELECT unnest(?)) "
        "ORDER BY ALL",
        [list(CHECKED_SCHEMAS)],
    ).fetchall()
    return [name for (name,) in rows]


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = connection.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
