"""Quality gates: run the committed expectation suites on a refresh's data and decide whether
the candidate database may be published.

Where each suite runs, all inside DuckDB on read-only files:
- RAW_SUITES on the internal database, after ingest and dbt have closed their connections;
- PUBLISHED_SUITES (one per contract table) on the candidate published database;
- EVERY_TABLE_SUITE on every table of the candidate, including tables no suite names yet:
  row count against the previous published database, direct identifiers, k.

A critical check that fails blocks publication. A check that could not be evaluated (GX
raised instead of giving a verdict) is neither a pass nor a data failure: it is reported
as an error, and a critical one blocks publication too, because nobody verified the data.

Every run keeps GX's full results under `<data-dir>/internal/quality/<run_id>/` and renders
them as Data Docs under `<data-dir>/internal/data_docs/`: small static pages written here,
because GX's own renderer links its styles and scripts from CDNs, and these pages must work
offline.
"""

from __future__ import annotations

import hashlib
import html
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
from flows.warehouse.schema import connect

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
FACTS = {
    "fms_respondents": (
        "SELECT count(*) FROM intermediate.int_fms_submissions_resolved"
        " WHERE NOT is_refusal AND NOT is_rejected"
    ),
    "public_stories": "SELECT count(*) FROM raw.stories WHERE consent = 'public'",
    "registry_individuals": (
        'SELECT coalesce(sum(TRY_CAST("count" AS BIGINT)), 0) FROM raw.fmr_tallies'
    ),
}


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

    @classmethod
    def of(
        cls, validations: list[SuiteValidation], marks: list[ValidatedMark] | None = None
    ) -> QualityReport:
        return cls([check for v in validations for check in v.checks], validations, marks or [])

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
        return (
            f"{passed}/{len(self.results)} checks passed, "
            f"{len(self.critical_failures)} critical failures, {len(self.warnings)} warnings, "
            f"{len(self.errors)} could not be evaluated"
        )


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
    previous = row_counts(settings.published_db)
    candidate_tables = tables(candidate)  # read before the session holds the file read-only
    with connect(settings.internal_db, read_only=True) as connection:
        marks = [validated_mark(connection, suite, parameters) for suite in NEW_ROWS_ONLY]
        new_rows = {
            mark.suite: None if settings.full_refresh else rows_to_validate(connection, mark)
            for mark in marks
        }
    with ValidationSession() as session:
        # Raw rows are respondent-level: their values stay in the internal results and Data
        # Docs, out of the verdicts, which reach ops tables, run messages and the published
        # database.
        validations = [
            session.validate(
                settings.internal_db,
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
    return QualityReport.of(validations, [m for m in marks if m.validated_through is not None])


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
        **fact_counts(settings.internal_db),
    }


def fact_counts(internal_db: Path) -> dict[str, ParameterValue]:
    with connect(internal_db, read_only=True) as connection:
        return {name: _scalar(connection, sql) for name, sql in FACTS.items()}


def tables(database: Path) -> list[str]:
    """The tables of a database in CHECKED_SCHEMAS, as schema.table."""
    with connect(database, read_only=True) as connection:
        return _tables_of(connection)


def row_counts(database: Path) -> dict[str, int]:
    """Rows per table of a published database; empty when none has been published yet."""
    if not database.is_file():
        return {}
    with connect(database, read_only=True) as connection:
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


# --- keeping the results -------------------------------------------------------------------


def record_quality_results(
    connection: duckdb.DuckDBPyConnection, run_id: str, report: QualityReport
) -> None:
    """Write the run's verdicts to ops.quality_results in the given database."""
    connection.execute("CREATE SCHEMA IF NOT EXISTS ops")
    connection.execute(
        """
        CREATE TABLE IF NOT EXISTS ops.quality_results (
            run_id VARCHAR, suite VARCHAR, check_name VARCHAR, severity VARCHAR,
            success BOOLEAN, observed VARCHAR
        )
        """
    )
    if report.results:
        connection.executemany(
            "INSERT INTO ops.quality_results VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, r.suite, r.check_name, r.severity, r.success, r.observed)
                for r in report.results
            ],
        )


def results_dir(settings: Settings, run_id: str) -> Path:
    return settings.internal_dir / "quality" / run_id


def data_docs_dir(settings: Settings) -> Path:
    return settings.internal_dir / "data_docs"


def keep_results(settings: Settings, run_id: str, report: QualityReport) -> Path:
    """GX's full results, one JSON file per suite run, plus summary.json; returns the folder."""
    folder = results_dir(settings, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for validation in report.validations:
        name = validation.suite.replace(":", "__")
        _write_json(folder / f"{name}.json", validation.gx_result)
    summary = {
        "run_id": run_id,
        "summary": report.summary(),
        "blocks_publication": report.blocks_publication,
        "checks": [_check_json(r) for r in report.results],
    }
    _write_json(folder / "summary.json", summary)
    return folder


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "suite": result.suite,
        "check_name": result.check_name,
        "severity": result.severity,
        "success": result.success,
        "observed": result.observed,
        "error": result.error,
    }


# --- Data Docs: static, offline HTML -------------------------------------------------------

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.passed { color: #1a7f37; } .failed { color: #cf222e; font-weight: bold; }
.warning { color: #9a6700; font-weight: bold; } .error { color: #8250df; font-weight: bold; }
code, pre { font-size: 85%; white-space: pre-wrap; }
"""


def render_data_docs(settings: Settings, run_id: str, report: QualityReport) -> Path:
    """Write the run's page and refresh the index of every run; returns the run's page."""
    docs = data_docs_dir(settings)
    (docs / "runs").mkdir(parents=True, exist_ok=True)
    page = docs / "runs" / f"{run_id}.html"
    page.write_text(_run_page(run_id, report), encoding="utf-8")
    (docs / "index.html").write_text(_index_page(settings), encoding="utf-8")
    return page


def _html_page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n"
        "</body></html>\n"
    )


def _verdict(result: CheckResult) -> tuple[str, str]:
    """(CSS class, text) for one check."""
    if result.success is None:
        return "error", "ERROR (not evaluated)"
    if result.success:
        return "passed", "passed"
    return ("failed", "FAILED") if result.severity == "critical" else ("warning", "warning")


def _run_page(run_id: str, report: QualityReport) -> str:
    status = "blocks publication" if report.blocks_publication else "may be published"
    parts = [
        f"<p><b>{html.escape(report.summary())}</b>: {status}. "
        '<a href="../index.html">All runs</a></p>'
    ]
    for validation in report.validations:
        parts.append(_suite_table(validation))
    return _html_page(f"Quality run {run_id}", "\n".join(parts))


def _suite_table(validation: SuiteValidation) -> str:
    examples = _examples(validation.gx_result)
    rows = []
    for check, expectation in zip(validation.checks, validation.expectations, strict=True):
        css, text = _verdict(check)
        kwargs = json.dumps(expectation.get("kwargs", {}), indent=1, ensure_ascii=False)
        description = expectation.get("description") or ""
        observed = check.error or check.observed
        if examples.get(expectation.get("id")) and check.success is False:
            observed += f" (examples: {examples[expectation['id']]})"
        rows.append(
            f'<tr><td class="{css}">{text}</td><td>{check.severity}</td>'
            f"<td>{html.escape(check.check_name)}<br><small>{html.escape(description)}</small>"
            f"</td><td>{html.escape(observed)}</td>"
            f"<td><details><summary>kwargs</summary><pre>{html.escape(kwargs)}</pre></details>"
            "</td></tr>"
        )
    header = "<tr><th>verdict</th><th>severity</th><th>check</th><th>observed</th><th></th></tr>"
    title = f"{html.escape(validation.suite)} <small>on {html.escape(validation.table)}</small>"
    parameters = ", ".join(
        f"{k} = {v}" for k, v in validation.gx_result["suite_parameters"].items()
    )
    scope = ""
    if validation.new_rows is not None:
        scope = f"; row-level checks on {validation.new_rows.describe()}, the others on every row"
    return (
        f"<h2>{title}</h2>\n<p><small>run parameters: {html.escape(parameters or 'none')}"
        f"{html.escape(scope)}</small></p>\n<table>{header}\n" + "\n".join(rows) + "</table>"
    )


def _examples(gx_result: Mapping[str, Any]) -> dict[str, str]:
    """Expectation id -> a few of the unexpected values GX kept (internal pages only)."""
    examples = {}
    for result in gx_result.get("results", []):
        values = (result.get("result") or {}).get("partial_unexpected_list")
        if values:
            examples[result["expectation_config"]["id"]] = json.dumps(values[:5], default=str)
    return examples


def _index_page(settings: Settings) -> str:
    rows = []
    quality = settings.internal_dir / "quality"
    summaries = sorted(quality.glob("*/summary.json"), reverse=True) if quality.is_dir() else []
    for path in summaries:
        summary = json.loads(path.read_text(encoding="utf-8"))
        run_id = html.escape(summary["run_id"])
        css, text = ("failed", "blocked") if summary["blocks_publication"] else ("passed", "ok")
        rows.append(
            f'<tr><td><a href="runs/{run_id}.html">{run_id}</a></td>'
            f'<td class="{css}">{text}</td><td>{html.escape(summary["summary"])}</td></tr>'
        )
    header = "<tr><th>run</th><th>gate</th><th>checks</th></tr>"
    return _html_page("Quality runs", f"<table>{header}\n" + "\n".join(rows) + "</table>")


# --- Prefect artifacts ---------------------------------------------------------------------


def create_quality_artifacts(run_id: str, report: QualityReport, docs_page: Path) -> None:
    """A table of the checks and a markdown summary linking the Data Docs; call from a task."""
    # Imported here: the quality worker imports this module and has no Prefect run.
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_table_artifact(
        table=artifact_table(report), key="quality-checks", description=report.summary()
    )
    create_markdown_artifact(
        markdown=artifact_markdown(run_id, report, docs_page),
        key="quality-report",
        description=f"Quality gates of run {run_id}",
    )


def artifact_table(report: QualityReport) -> list[dict[str, Any]]:
    """One row per check that did not pass, critical first; every check when all passed."""
    order = {"critical": 0, "warning": 1}
    not_passed = [r for r in report.results if r.success is not True]
    rows = sorted(not_passed, key=lambda r: order.get(r.severity, 2)) or report.results
    return [
        {
            "suite": r.suite,
            "check": r.check_name,
            "severity": r.severity,
            "verdict": _verdict(r)[1],
            "observed": r.observed,
        }
        for r in rows
    ]


def artifact_markdown(run_id: str, report: QualityReport, docs_page: Path) -> str:
    gate = "**blocked publication**" if report.blocks_publication else "passed the gate"
    lines = [
        f"# Quality, run `{run_id}`",
        "",
        f"{report.summary()}: {gate}.",
        "",
        f"[Data Docs for this run]({docs_page.resolve().as_uri()})",
    ]
    for title, results in (
        ("Critical failures", report.critical_failures),
        ("Could not be evaluated", report.errors),
        ("Warnings", report.warnings),
    ):
        if results:
            lines += ["", f"## {title}", ""]
            lines += [f"- `{r.suite}` {r.check_name}: {r.observed}" for r in results]
    return "\n".join(lines) + "\n"
