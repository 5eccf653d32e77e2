"""Run Great Expectations suites against tables of a DuckDB file, inside DuckDB.

A suite lives in `<directory>/<name>.json`: the JSON of `ExpectationSuite.to_json_dict()` plus a
top-level `"table": "schema.table"` naming the table it validates, or `"table": "*"` for a suite
that the caller runs against tables it names (`validate_suite(..., table=...)`). Each expectation
may carry `meta: {"severity": "critical" | "warning"}` (default "critical") and
`meta: {"check": label}`, a short label for its check name (e.g. for a query expectation, whose
kwargs name no column).

Run parameters (the suppression threshold k, today's date, counts from elsewhere) reach a suite two
ways, both from the one `parameters` mapping given to `validate_suite`: as GX suite parameters
(`{"$PARAMETER": "k"}` in any kwarg) and as DuckDB variables for SQL in query expectations
(`getvariable('k')`). A suite that names a parameter the run does not supply is refused before
anything runs: a missing variable would read as NULL and let a query check pass silently.

GX computes every metric as SQL through SQLAlchemy (duckdb-engine) on a read-only connection; no
rows are copied into pandas. What GX 1.24 needs to work on DuckDB is all in the "GX on DuckDB"
section at the end.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from flows.config import DEFAULT_DUCKDB_MEMORY_LIMIT, switch_off_telemetry

# Before GX is imported: validation must never send usage analytics anywhere.
switch_off_telemetry()

import duckdb_engine  # noqa: E402
import great_expectations as gx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from great_expectations.core.expectation_validation_result import (  # noqa: E402
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.expectations.metrics import util as gx_metric_util  # noqa: E402
from sqlalchemy.dialects import registry  # noqa: E402

from flows.quality.results import (  # noqa: E402
    CheckResult,
    NewRows,
    ParameterValue,
    SuiteValidation,
)
from flows.warehouse.lake import NO_DOWNLOADS, Lake  # noqa: E402

SEVERITIES = ("critical", "warning")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# kwargs that say *what* an expectation checks; they make its check_name readable.
_KEY_KWARGS = ("column", "column_A", "column_B", "column_list")
_MAX_OBSERVED_CHARS = 200
_GETVARIABLE = re.compile(r"getvariable\s*\(\s*'([^']*)'\s*\)", re.IGNORECASE)

ANY_TABLE = "*"


def load_suite(name: str, directory: Path) -> gx.ExpectationSuite:
    """Read `<directory>/<name>.json`; the validated table ends up in `suite.meta["table"]`."""
    path = directory / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    table = data.pop("table", None)
    if not isinstance(table, str):
        raise ValueError(f'{path}: needs a top-level "table": "schema.table" (or "*")')
    if table != ANY_TABLE:
        _split_table(table)  # fail on a malformed name now, not halfway through a run
    if data.get("name") != name:
        raise ValueError(f"{path}: suite name {data.get('name')!r} does not match the file name")
    for expectation in data.get("expectations", []):
        severity = (expectation.get("meta") or {}).get("severity", "critical")
        if severity not in SEVERITIES:
            raise ValueError(
                f"{path}: {expectation['type']}: severity {severity!r} not in {SEVERITIES}"
            )
        # GX 1.24 also has its own `severity` field (to_json_dict always writes it); it must not
        # say something different from meta["severity"], which is what CheckResult reports.
        if expectation.get("severity", severity) != severity:
            raise ValueError(
                f"{path}: {expectation['type']}: severity {expectation['severity']!r} contradicts"
                f" meta severity {severity!r}"
            )
    suite = gx.ExpectationSuite(**data)
    suite.meta["table"] = table
    return suite


def validate_suite(
    db_path: Path,
    suite_name: str,
    directory: Path,
    parameters: Mapping[str, ParameterValue] | None = None,
    table: str | None = None,
    values_in_observed: bool = True,
    new_rows: NewRows | None = None,
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> SuiteValidation:
    """Validate the suite's table (or `table`, for a "*" suite) in the DuckDB file at db_path.

    The file is opened read-only, and every connection is closed before returning, so the file can
    be opened for writing right away. Results come in suite order; an expectation GX could not
    evaluate has success None. With values_in_observed False a check's `observed` gives counts
    only, never a value from the table (for respondent-level tables: verdicts travel further than
    the internal database); the examples stay in `gx_result`. With `new_rows`, the row-level
    checks see only those rows (see ValidationSession.validate).
    """
    with ValidationSession(memory_limit) as session:
        return session.validate(
            db_path, suite_name, directory, parameters, table, values_in_observed, new_rows
        )


class ValidationSession:
    """Many suite runs on one GX context, as `validate_suite` runs one.

    Setting up a GX datasource costs more than validating a small table (GX serialises its
    whole configuration each time one is added), so a session keeps one datasource per
    database, schema and set of DuckDB variables, and reuses it for every table there. Use it
    as a context manager: leaving it closes every connection it opened.
    """

    def __init__(self, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT) -> None:
        self.memory_limit = memory_limit  # of each DuckDB connection it opens
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._datasources: dict[tuple[str, str, str], Any] = {}

    def __enter__(self) -> ValidationSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for datasource in self._datasources.values():
            # GX keeps two engines (one for the datasource, one for its execution engine).
            datasource.get_execution_engine().close()
            datasource.get_engine().dispose()
        self._datasources.clear()

    def validate(
        self,
        db_path: Path | Lake,
        suite_name: str,
        directory: Path,
        parameters: Mapping[str, ParameterValue] | None = None,
        table: str | None = None,
        values_in_observed: bool = True,
        new_rows: NewRows | None = None,
    ) -> SuiteValidation:
        """What `validate_suite` does, on this session's context and connections.

        With `new_rows`, the row-level checks (is_row_level) see only those rows of the table
        and every other check sees the whole table; each row-level verdict says so.
        """
        parameters = dict(parameters or {})
        suite = _suite_for_table(load_suite(suite_name, directory), table)
        _check_parameters(suite, parameters)
        names = _check_names(suite)
        checks: list[CheckResult | None] = [None] * len(suite.expectations)
        expectations: list[dict[str, Any]] = [{}] * len(suite.expectations)
        results: list[dict[str, Any] | None] = [None] * len(suite.expectations)
        gx_result: dict[str, Any] = {}
        parts: list[dict[str, Any]] = []
        for part, positions, rows in _parts(suite, new_rows):
            part = self.context.suites.add(part)  # gives the expectations the ids results refer to
            try:
                validation = self._validate(db_path, part, parameters, rows)
            finally:
                self.context.suites.delete(part.name)
            part_checks = _check_results(
                part, [names[i] for i in positions], validation.results, values_in_observed
            )
            part_result = validation.to_json_dict()
            by_id = {r["expectation_config"]["id"]: r for r in part_result["results"]}
            for position, expectation, check in zip(
                positions, part.expectations, part_checks, strict=True
            ):
                if rows is not None:
                    check = replace(check, observed=f"{check.observed} ({rows.describe()})")
                checks[position] = replace(check, suite=suite.name)
                expectations[position] = expectation.configuration.to_json_dict()
                results[position] = by_id.get(expectation.id)
            gx_result = gx_result or part_result
            parts.append({"suite_name": part.name, "meta": part_result.get("meta", {})})
        gx_result = _merged_result(gx_result, [r for r in results if r is not None])
        if len(parts) > 1:
            gx_result["parts"] = parts  # what each part ran on: its batch, in its meta
        gx_result["suite_name"] = suite.name
        gx_result["suite_parameters"] = {name: _jsonable(v) for name, v in parameters.items()}
        if new_rows is not None:
            gx_result["row_level_checks_on"] = new_rows.describe()
        return SuiteValidation(
            suite.name,
            suite.meta["table"],
            [c for c in checks if c is not None],
            expectations,
            gx_result,
            new_rows,
        )

    def _validate(
        self,
        db_path: Path | Lake,
        suite: gx.ExpectationSuite,
        parameters: dict[str, ParameterValue],
        new_rows: NewRows | None,
    ) -> ExpectationSuiteValidationResult:
        schema, table = _split_table(suite.meta["table"])
        # Query expectations read run parameters as DuckDB variables. All of them go on the
        # connection but those this suite reads only as `$PARAMETER` kwargs (GX fills those in
        # itself): suites that differ only in such a parameter then share a datasource.
        gx_only = _expectation_parameters(suite) - _variables_read(suite)
        variables = {n: v for n, v in parameters.items() if n not in gx_only}
        datasource = self._datasource(db_path, schema, variables)
        batch = _batch(datasource, table, new_rows)
        validation = batch.validate(
            suite, result_format=_COUNTS_ONLY, expectation_parameters=parameters
        )
        _add_examples(batch, suite, validation, parameters)
        return validation

    def _datasource(
        self, db_path: Path | Lake, schema: str, variables: Mapping[str, ParameterValue]
    ) -> Any:
        where = db_path.key if isinstance(db_path, Lake) else str(db_path.resolve())
        key = (where, schema, repr(sorted(variables.items())))
        if key not in self._datasources:
            connect_args: dict[str, Any] = {
                "read_only": True,
                "config": {"memory_limit": self.memory_limit},
                "search_path": schema,
                "variables": variables,
            }
            database = db_path
            if isinstance(db_path, Lake):
                # An in-memory DuckDB that attaches the catalog read-only and works in it.
                database = Path(":memory:")
                connect_args["read_only"] = False
                connect_args["config"] = {**connect_args["config"], **NO_DOWNLOADS}
                connect_args["setup"] = db_path.statements()
            self._datasources[key] = self.context.data_sources.add_sql(
                name=f"duckdb_{len(self._datasources)}",
                connection_string=f"duckdb+{_DIALECT_DRIVER}:///{_location(database)}",
                kwargs={"connect_args": connect_args},
            )
        return self._datasources[key]


def _location(database: Path) -> str:
    return ":memory:" if str(database) == ":memory:" else str(database.resolve())


def _batch(datasource: Any, table: str, new_rows: NewRows | None) -> Any:
    """The whole table, or only its new rows (a query asset, one per cut-off)."""
    if new_rows is None:
        name, query = table, None
    else:
        if not _IDENTIFIER.fullmatch(new_rows.column):
            raise ValueError(f"column {new_rows.column!r} is not a plain identifier")
        cutoff = new_rows.after.isoformat(sep=" ")
        name = f"{table} where {new_rows.column} > {cutoff}"
        query = (
            f"SELECT * FROM {table} "
            f"WHERE {new_rows.column} > TIMESTAMP '{cutoff}' OR {new_rows.column} IS NULL"
        )
    asset = next((a for a in datasource.assets if a.name == name), None)
    if asset is None:
        if query is None:
            asset = datasource.add_table_asset(name=name, table_name=table)
        else:
            asset = datasource.add_query_asset(name=name, query=query)
        asset.add_batch_definition_whole_table("whole table")
    return asset.get_batch_definition("whole table").get_batch()


# Expectations that judge each row on its own: on rows validated before with the same suite and
# parameters they would give the same verdict again, so they may run on new rows only. A query
# expectation counts as row-level only when its suite says so (meta row_level), because its SQL
# may compare rows. Everything else (uniqueness, row counts, aggregates) sees the whole table.
ROW_LEVEL_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_pair_values_to_be_in_set",
        "expect_column_pair_values_to_be_equal",
    }
)


def is_row_level(expectation: gx.expectations.Expectation) -> bool:
    config = expectation.configuration
    if config.type == "unexpected_rows_expectation":
        return (expectation.meta or {}).get("row_level") is True
    # `mostly` below 1 makes a column check a share of the table, no longer a verdict per row.
    mostly = config.kwargs.get("mostly")
    return config.type in ROW_LEVEL_EXPECTATIONS and (mostly is None or mostly == 1)


def _parts(
    suite: gx.ExpectationSuite, new_rows: NewRows | None
) -> list[tuple[gx.ExpectationSuite, list[int], NewRows | None]]:
    """The suite as (part, positions of its expectations in the suite, rows it validates)."""
    if new_rows is None:
        return [(suite, list(range(len(suite.expectations))), None)]
    row_level = [i for i, e in enumerate(suite.expectations) if is_row_level(e)]
    whole_table = [i for i in range(len(suite.expectations)) if i not in set(row_level)]
    parts = []
    for label, positions, rows in (
        ("new rows", row_level, new_rows),
        ("whole table", whole_table, None),
    ):
        if positions:
            part = gx.ExpectationSuite(
                name=f"{suite.name} [{label}]",
                expectations=[copy.copy(suite.expectations[i]) for i in positions],
                meta=dict(suite.meta),
            )
            parts.append((part, positions, rows))
    return parts


def _merged_result(first: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """GX's result of a suite validated in parts, as if it ran in one."""
    successful = sum(1 for r in results if r.get("success"))
    merged = dict(first)
    merged["results"] = results
    merged["success"] = successful == len(results)
    merged["statistics"] = {
        **first.get("statistics", {}),
        "evaluated_expectations": len(results),
        "successful_expectations": successful,
        "unsuccessful_expectations": len(results) - successful,
        "success_percent": 100.0 * successful / len(results) if results else None,
    }
    return merged


def _suite_for_table(suite: gx.ExpectationSuite, table: str | None) -> gx.ExpectationSuite:
    """Point a "*" suite at `table`; its results then say which table they are about."""
    if table is None:
        if suite.meta["table"] == ANY_TABLE:
            raise ValueError(f"suite {suite.name!r} runs on any table: name one")
        return suite
    if suite.meta["table"] != ANY_TABLE:
        raise ValueError(f"suite {suite.name!r} validates {suite.meta['table']}, not {table}")
    _split_table(table)
    suite.meta["table"] = table
    suite.name = f"{suite.name}:{table}"
    return suite


# GX computes a column-map expectation's unexpected count in one aggregate query shared by the
# whole suite, then fetches example values with one more query per expectation. On a passing
# check that second query scans the entire column to find nothing, doubling the suite's time on a
# large table. So the suite runs without examples (LIMIT 0, which DuckDB answers without
# scanning), and only the checks that failed are run again for their examples.
_COUNTS_ONLY = {"result_format": "BASIC", "partial_unexpected_count": 0}


def _add_examples(
    batch: Any,
    suite: gx.ExpectationSuite,
    validation: ExpectationSuiteValidationResult,
    parameters: dict[str, ParameterValue],
) -> None:
    by_id = {expectation.id: expectation for expectation in suite.expectations}
    for result in validation.results:
        counted = (result.result or {}).get("unexpected_count")
        if result.success or not counted or _exception_message(result) is not None:
            continue
        again = batch.validate(
            by_id[result.expectation_config.id],
            result_format="BASIC",
            expectation_parameters=parameters,
        )
        result.result["partial_unexpected_list"] = again.result.get("partial_unexpected_list", [])


def suite_parameters(suite: gx.ExpectationSuite) -> set[str]:
    """The run parameters a suite reads: `$PARAMETER` kwargs and `getvariable` calls."""
    return _expectation_parameters(suite) | _variables_read(suite)


def _expectation_parameters(suite: gx.ExpectationSuite) -> set[str]:
    """The run parameters a suite reads as `$PARAMETER` kwargs."""
    return {
        str(value["$PARAMETER"])
        for expectation in suite.expectations
        for value in _leaves(expectation.configuration.kwargs)
        if isinstance(value, Mapping) and "$PARAMETER" in value
    }


def _variables_read(suite: gx.ExpectationSuite) -> set[str]:
    """The run parameters a suite reads with `getvariable` (SQL of query expectations)."""
    return {
        name
        for expectation in suite.expectations
        for value in _leaves(expectation.configuration.kwargs)
        if isinstance(value, str)
        for name in _GETVARIABLE.findall(value)
    }


def _leaves(value: Any) -> Iterator[Any]:
    """Every string, number and `$PARAMETER` dict inside a kwargs value."""
    if isinstance(value, Mapping) and "$PARAMETER" not in value:
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _check_parameters(suite: gx.ExpectationSuite, parameters: Mapping[str, Any]) -> None:
    missing = sorted(suite_parameters(suite) - set(parameters))
    if missing:
        raise ValueError(f"suite {suite.name!r} needs run parameter(s) {', '.join(missing)}")
    for name in parameters:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"run parameter {name!r} is not a plain identifier")


def _jsonable(value: ParameterValue) -> ParameterValue:
    return value.isoformat() if isinstance(value, date) else value


def _split_table(qualified: str) -> tuple[str, str]:
    schema, _, table = qualified.rpartition(".")
    schema = schema or "main"
    # The schema is interpolated into `SET search_path`, so only plain identifiers are allowed.
    if not (_IDENTIFIER.fullmatch(schema) and _IDENTIFIER.fullmatch(table)):
        raise ValueError(f"table {qualified!r} is not of the form schema.table")
    return schema, table


def _check_results(
    suite: gx.ExpectationSuite,
    check_names: list[str],
    results: Sequence[ExpectationValidationResult],
    values_in_observed: bool = True,
) -> list[CheckResult]:
    by_id = {result.expectation_config.id: result for result in results}
    checks = []
    for expectation, check_name in zip(suite.expectations, check_names, strict=True):
        severity = expectation.meta.get("severity", "critical") if expectation.meta else "critical"
        result = by_id.get(expectation.id)
        error = "GX returned no result" if result is None else _exception_message(result)
        if result is None or error is not None:
            success, observed = None, _shorten(error or "")
        else:
            success = bool(result.success)
            observed = _observed(result.result, expectation.configuration.type, values_in_observed)
        checks.append(CheckResult(suite.name, check_name, severity, success, observed, error))
    return checks


def _check_names(suite: gx.ExpectationSuite) -> list[str]:
    names: list[str] = []
    for expectation in suite.expectations:
        config = expectation.configuration
        key_values: list[str] = []
        for key in _KEY_KWARGS:
            value = config.kwargs.get(key)
            if value is not None:
                key_values.extend(value if isinstance(value, list) else [value])
        label = (expectation.meta or {}).get("check")
        if label:
            key_values = [str(label)]
        name = f"{config.type}({', '.join(key_values)})" if key_values else config.type
        # Same type on the same columns twice (e.g. two regexes): number the later ones.
        duplicates = sum(1 for earlier in names if earlier.split(" #")[0] == name)
        names.append(f"{name} #{duplicates + 1}" if duplicates else name)
    return names


def _exception_message(result: ExpectationValidationResult) -> str | None:
    """The exception GX raised for this expectation, or None when it gave a verdict.

    GX 1.24 reports exceptions in two shapes, both with success=False:
    {"raised_exception": True, "exception_message": ...} when the expectation itself failed, and
    {metric id: {"raised_exception": True, ...}, ...} when metrics it needs could not be computed.
    """
    info: Mapping[str, Any] = result.exception_info or {}
    infos = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(item.get("exception_message"))
        for item in infos
        if isinstance(item, Mapping) and item.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) if messages else None


def _observed(result: Mapping[str, Any], expectation_type: str, with_values: bool) -> str:
    if expectation_type == "unexpected_rows_expectation":
        return f"{result.get('observed_value')} unexpected rows"
    if "observed_value" in result:
        return _shorten(str(result["observed_value"]))
    if "unexpected_count" in result:
        count = result["unexpected_count"]
        if not count:
            return "0 unexpected"
        percent = result.get("unexpected_percent") or 0.0
        counted = f"{count} unexpected ({percent:.3g}%)"
        if not with_values:
            return counted
        examples = ", ".join(
            _example(value) for value in result.get("partial_unexpected_list", [])[:3]
        )
        return _shorten(f"{counted}, e.g. {examples}")
    return ""


def _example(value: Any) -> str:
    """One unexpected value; a row of a multi-column check comes as a dict or a pair."""
    if isinstance(value, Mapping):
        value = tuple(value.values())
    if isinstance(value, tuple | list):
        return f"({', '.join(_example(item) for item in value)})"
    return value.isoformat() if isinstance(value, date) else repr(value)


def _shorten(text: str) -> str:
    first_line = text.strip().split("\n", 1)[0]
    if len(first_line) <= _MAX_OBSERVED_CHARS:
        return first_line
    return first_line[: _MAX_OBSERVED_CHARS - 3] + "..."


# --- GX on DuckDB: the workarounds GX 1.24 needs, all of them here ------------------------------


class _ReadOnlyDuckDBDialect(duckdb_engine.Dialect):
    """duckdb-engine for a read-only database, minus the implicit BEGIN/ROLLBACK.

    Dropping them works around GX issue #11579 (every expectation fails with IndexError):
    SqlAlchemyExecutionEngine.execute_query runs `with engine.connect() as c: r = c.execute(q)`
    and calls r.fetchall() after the block. Closing the Connection rolls back its implicit
    transaction, and a duckdb-engine cursor *is* its DuckDB connection, so the ROLLBACK replaces
    the unfetched result; GX gets [] and reads row 0. StaticPool or pool_reset_on_return=None do
    not help: that rollback comes from Connection.close(), not from the pool. A read-only database
    has nothing to roll back, so each query simply runs in DuckDB's autocommit mode.
    """

    supports_statement_cache = False  # as duckdb-engine; SQLAlchemy wants each subclass to say

    def do_begin(self, dbapi_connection: Any) -> None:
        pass

    def do_rollback(self, dbapi_connection: Any) -> None:
        pass

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        # The table is addressed unqualified, with its schema on the search path: when column
        # reflection fails (SQLAlchemy 2.1's PostgreSQL query wants pg_collation, which DuckDB
        # lacks) GX falls back to `SELECT * FROM <table>` and drops the schema.
        search_path = cparams.pop("search_path", None)
        # Run parameters, for the SQL of query expectations (names checked by _check_parameters).
        variables: Mapping[str, ParameterValue] = cparams.pop("variables", None) or {}
        # A lake's LOAD, ATTACH and USE (flows.warehouse.lake.Lake.statements).
        setup: list[str] = cparams.pop("setup", None) or []
        connection = super().connect(*cargs, **cparams)
        for statement in setup:
            connection.execute(statement)
        if search_path is not None:
            connection.execute(f"SET search_path = '{search_path}'")
        for name, value in variables.items():
            connection.execute(f"SET VARIABLE {name} = $1", [value])
        return connection


_DIALECT_DRIVER = "gx_readonly"
registry.register(f"duckdb.{_DIALECT_DRIVER}", __name__, _ReadOnlyDuckDBDialect.__name__)


def _regex_expression(
    column: Any, regex: str, dialect: Any, positive: bool = True
) -> sa.ColumnElement[bool] | None:
    """GX's get_dialect_regex_expression, plus the DuckDB branch GX 1.24 lacks.

    Without it every regex expectation raises "Regex is not supported for dialect duckdb".
    regexp_matches() finds the pattern anywhere in the value, like GX does on pandas and
    PostgreSQL; DuckDB's `~` operator would demand a full match.
    """
    if getattr(dialect, "name", None) == "duckdb":
        matches = sa.func.regexp_matches(column, sa.literal(regex))
        return matches if positive else sa.not_(matches)
    return _gx_regex_expression(column, regex, dialect, positive)


_gx_regex_expression = gx_metric_util.get_dialect_regex_expression


def _use_regex_expression_with_duckdb() -> None:
    # GX's regex metrics import get_dialect_regex_expression by name: rebind it where it is used.
    # (Not in util itself, so _gx_regex_expression stays GX's own even if this module reloads.)
    for name, module in list(sys.modules.items()):
        if (
            name.startswith("great_expectations.")
            and module is not gx_metric_util
            and getattr(module, "get_dialect_regex_expression", None) is _gx_regex_expression
        ):
            module.get_dialect_regex_expression = _regex_expression


_use_regex_expression_with_duckdb()

# GX 1.24 sets this logger to INFO itself, so every ephemeral context (one per suite run) says
# "Created temporary directory ... for ephemeral docs site" in the refresh's console output.
logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
