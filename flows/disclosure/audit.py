"""The disclosure audit: what a reader can derive about every suppressed count of a published
database (a file, or a lake's published catalog), from it alone, by linear programming
(tau-ARGUS's audit of a suppression pattern, integrality relaxed).

For each suppressed cell the audit computes [min, max] over every assignment of the
suppressed cells that agrees with everything published (flows.disclosure.published_cells).
The publication passes when no suppressed cell is exact (max > min) and every suppressed
cell's upper bound reaches k (a reader never learns that a cell is below k), and no measure
(share, median, ratio) is published over a suppressed count.

Fast because the system is cut up first: published cells are constants, a relation between
published cells only is dropped, and the rest splits into connected components, each solved
as one HiGHS model whose objective changes from cell to cell (warm-started simplex). Every
solution found is a feasible assignment: a cell whose value in one of them equals its lower
bound has that bound as its minimum, so minimums are solved only for the other cells.

Every figure the audit reports is computed from the published file alone, so reporting it
(in ops.quality_results, a run summary) tells a reader nothing the file does not.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from scipy.sparse import coo_matrix, csc_matrix
from scipy.sparse.csgraph import connected_components

from flows.disclosure.published_cells import MeasureFinding, read_published_cells
from flows.disclosure.system import Cell, LinearSystem
from flows.warehouse.connection import NO_PROGRESS_BAR
from flows.warehouse.lake import Lake, connect_analyst

# LP bounds are real numbers; a count is an integer, so a bound within this of an integer is
# that integer (the slack HiGHS's primal feasibility tolerance leaves).
_INTEGER_SLACK = 1e-6
_CONSISTENCY_SLACK = 1e-6
_PROPAGATION_ROUNDS = 30
_LP_SLACK = 1e-7
_SOLVES_BETWEEN_PROPAGATIONS = 25
_RANDOM_SOLVES = 120
_RANDOM_SOLVE_GAIN = 10  # cells a pair of random solves must decide for another pair


class AuditError(RuntimeError):
    """The published numbers contradict the relations the audit derives (a model error)."""


@dataclass(frozen=True)
class CellInterval:
    """What a reader can derive about one suppressed cell: integer bounds, max may be inf."""

    cell: Cell
    lower: int  # the minimum; where not lower_exact, a value the cell can take
    upper: float  # the maximum (an integer, or math.inf); where not upper_exact, one it can take
    lower_exact: bool = True
    upper_exact: bool = True
    # Provably 0, and nobody behind it: a whole population (a corridor, an area, a point's
    # month) provably 0, or a part of one, says what an absent row would: no person's data
    # is disclosed. A part provably 0 of a population that is not (no woman among a
    # corridor's 7) discloses all of the others, and stays a finding.
    empty: bool = False

    @property
    def exact(self) -> bool:
        return self.lower_exact and self.upper_exact and self.upper == self.lower

    @property
    def width(self) -> float:
        return self.upper - self.lower


@dataclass
class AuditReport:
    k: int
    intervals: list[CellInterval]
    measure_findings: list[MeasureFinding]
    tables_read: list[str]
    seconds: float = 0.0
    lp_solves: int = 0
    components: int = 0
    largest_component: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def exact(self) -> list[CellInterval]:
        return [i for i in self.intervals if i.exact and not i.empty]

    @property
    def under_k(self) -> list[CellInterval]:
        return [i for i in self.intervals if i.upper < self.k and not i.empty]

    @property
    def empty(self) -> list[CellInterval]:
        return [i for i in self.intervals if i.empty]

    def _protected(self) -> list[CellInterval]:
        return [i for i in self.intervals if not i.empty]

    @property
    def passes(self) -> bool:
        return not (self.exact or self.under_k or self.measure_findings or self.problems)

    def min_interval(self) -> float | None:
        return min((i.width for i in self._protected()), default=None)

    def min_upper(self) -> float | None:
        return min((i.upper for i in self._protected()), default=None)

    def worst(self, count: int = 10) -> list[CellInterval]:
        """The narrowest intervals first, then the lowest upper bounds."""
        ranked = sorted(self._protected(), key=lambda i: (i.width, i.upper, i.cell.describe()))
        return ranked[:count]

    def by_table(self) -> dict[str, tuple[int, int, int]]:
        """table.column -> (suppressed cells, exactly disclosed, upper bound < k)."""
        cells, exact, under = Counter(), Counter(), Counter()
        for interval in self.intervals:
            name = f"{interval.cell.table}.{interval.cell.column}"
            cells[name] += 1
            exact[name] += interval.exact and not interval.empty
            under[name] += interval.upper < self.k and not interval.empty
        return {name: (cells[name], exact[name], under[name]) for name in sorted(cells)}

    def summary(self) -> str:
        """One line, e.g. for a run summary; figures only, no cell."""
        width, upper = self.min_interval(), self.min_upper()
        line = (
            f"{len(self.intervals)} suppressed cells, {len(self.exact)} exactly disclosed, "
            f"{len(self.under_k)} with upper bound < k={self.k}"
        )
        if width is not None:
            line += (
                f", min protection interval {_number(width)} (lowest upper bound {_number(upper)})"
            )
        if self.empty:
            line += f", {len(self.empty)} provably empty (0: nobody behind them)"
        if self.measure_findings:
            line += f", {len(self.measure_findings)} measures over suppressed or small counts"
        if self.problems:
            line += f", {len(self.problems)} contradictions between published numbers"
        return line


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return "unbounded" if math.isinf(value) else str(int(value))


def audit_database(path: Path | Lake, k: int) -> AuditReport:
    """Audit a published database file, opened read-only; or a lake's published catalog as an
    analyst reads it (read-only, confined: flows.warehouse.lake.connect_analyst)."""
    if isinstance(path, Lake):
        with connect_analyst(path) as connection:
            return audit_connection(connection, k)
    connection = duckdb.connect(str(path), read_only=True)
    try:
        connection.execute(NO_PROGRESS_BAR)
        return audit_connection(connection, k)
    finally:
        connection.close()


def audit_connection(connection: duckdb.DuckDBPyConnection, k: int) -> AuditReport:
    started = time.perf_counter()
    cells = read_published_cells(connection, k)
    report = solve(cells.system, k)
    report.measure_findings = cells.measure_findings
    report.tables_read = cells.tables_read
    report.seconds = time.perf_counter() - started
    return report


# --- solving ----------------------------------------------------------------------------------


@dataclass
class _Reduced:
    """The system over the free variables only: rows of A x within [lower, upper]."""

    free: np.ndarray  # system variable index of each column
    matrix: csc_matrix
    lower: np.ndarray
    upper: np.ndarray
    problems: list[str]


def _reduce(system: LinearSystem) -> _Reduced:
    """Fold the published cells into the relations' bounds; keep relations with a free term."""
    cells = system.cells
    is_free = np.array([cell.value is None for cell in cells], dtype=bool)
    column_of = np.full(len(cells), -1)
    free = np.flatnonzero(is_free)
    column_of[free] = np.arange(len(free))
    rows, cols, values, lower, upper, problems = [], [], [], [], [], []
    for relation in system.relations:
        constant = 0.0
        kept = []
        for index, coefficient in relation.terms.items():
            if is_free[index]:
                kept.append((column_of[index], coefficient))
            else:
                constant += coefficient * cells[index].value  # type: ignore[operator]
        low, high = relation.lower - constant, relation.upper - constant
        if not kept:
            if low > _CONSISTENCY_SLACK or high < -_CONSISTENCY_SLACK:
                problems.append(f"{relation.why}: published numbers do not satisfy it")
            continue
        row = len(lower)
        for column, coefficient in kept:
            rows.append(row)
            cols.append(column)
            values.append(coefficient)
        lower.append(low)
        upper.append(high)
    matrix = coo_matrix((values, (rows, cols)), shape=(len(lower), len(free))).tocsc()
    return _Reduced(free, matrix, np.array(lower), np.array(upper), problems)


def _components(reduced: _Reduced) -> tuple[int, np.ndarray, np.ndarray]:
    """Component label of each free column and of each row (the bipartite graph of A)."""
    n_rows, n_cols = reduced.matrix.shape
    incidence = reduced.matrix.tocoo()
    # nodes 0..n_cols-1 are columns, n_cols.. are rows
    graph = coo_matrix(
        (np.ones(incidence.nnz), (incidence.col, incidence.row + n_cols)),
        shape=(n_cols + n_rows, n_cols + n_rows),
    )
    count, labels = connected_components(graph, directed=False)
    return count, labels[:n_cols], labels[n_cols:]


def solve(system: LinearSystem, k: int) -> AuditReport:
    reduced = _reduce(system)
    count, column_labels, row_labels = _components(reduced)
    lower_bounds = np.array([system.cells[i].lower for i in reduced.free])
    audited = np.array([system.cells[i].suppressed for i in reduced.free], dtype=bool)
    found = _Bounds.unbounded(lower_bounds)
    report = AuditReport(k, [], [], [], problems=list(reduced.problems))
    columns_by_label = _indices_by_label(column_labels, count)
    rows_by_label = _indices_by_label(row_labels, count)
    for label in range(count):
        columns = columns_by_label[label]
        if not audited[columns].any():
            continue
        rows = rows_by_label[label]
        report.components += 1
        report.largest_component = max(report.largest_component, len(columns))
        if len(rows) == 0:
            continue  # a cell in no relation: anything from its lower bound up
        sub = reduced.matrix[rows][:, columns].tocsc()
        component = _Component(
            sub, reduced.lower[rows], reduced.upper[rows], lower_bounds[columns], audited[columns]
        )
        if not component.feasible():
            names = ", ".join(system.cells[reduced.free[c]].describe() for c in columns[:3])
            report.problems.append(f"no assignment fits the published numbers around {names}")
            continue
        found.put(columns, component.extremes(k))
        report.lp_solves += component.solves
    intervals = {
        int(reduced.free[column]): found.interval(system.cells[reduced.free[column]], column)
        for column in np.flatnonzero(audited)
    }
    report.intervals = [_with_emptiness(system, intervals, i) for i in intervals]
    return report


def _with_emptiness(
    system: LinearSystem, intervals: dict[int, CellInterval], index: int
) -> CellInterval:
    interval = intervals[index]
    if not (interval.exact and interval.upper == 0):
        return interval
    cell = system.cells[index]
    population = index if cell.part_of is None else cell.part_of
    base = intervals.get(population)
    if cell.counts_a_population or (base is not None and base.exact and base.upper == 0):
        return replace(interval, empty=True)
    return interval


def _indices_by_label(labels: np.ndarray, count: int) -> list[np.ndarray]:
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(count)]


@dataclass
class _Bounds:
    """What is known of each column's min and max: exact, or (where the audit did not need
    more) an upper bound on the min and a lower bound on the max, from feasible solutions."""

    low: np.ndarray
    low_exact: np.ndarray
    high: np.ndarray
    high_exact: np.ndarray

    @classmethod
    def unbounded(cls, lower: np.ndarray) -> _Bounds:
        size = len(lower)
        return cls(
            lower.astype(float).copy(),
            np.ones(size, dtype=bool),
            np.full(size, math.inf),
            np.ones(size, dtype=bool),
        )

    def put(self, columns: np.ndarray, other: _Bounds) -> None:
        self.low[columns], self.low_exact[columns] = other.low, other.low_exact
        self.high[columns], self.high_exact[columns] = other.high, other.high_exact

    def interval(self, cell: Cell, column: int) -> CellInterval:
        high = self.high[column]
        upper = math.inf if math.isinf(high) else math.floor(high + _INTEGER_SLACK)
        lower = math.ceil(self.low[column] - _INTEGER_SLACK)
        return CellInterval(
            cell, lower, upper, bool(self.low_exact[column]), bool(self.high_exact[column])
        )


class _Component:
    """One connected component as a HiGHS model; the objective changes, the model stays.

    Columns that appear in one relation only, with the same coefficient, are one unknown to
    the LP (their sum): each of them ranges from its own lower bound to the sum's maximum
    less the others' lower bounds. A table's hidden categories that nothing else mentions
    are such columns.
    """

    def __init__(
        self,
        matrix: csc_matrix,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
        lower: np.ndarray,
        audited: np.ndarray,
    ) -> None:
        import highspy

        self._highspy = highspy
        self._lower = lower.astype(float)
        self._audited = audited
        self._group_lower = self._aggregate(matrix)
        sub = matrix[:, self._kept].tocsc()
        inf = highspy.kHighsInf
        size = len(self._kept)
        lp = highspy.HighsLp()
        lp.num_col_ = size
        lp.num_row_ = matrix.shape[0]
        lp.col_cost_ = np.zeros(size)
        lp.col_lower_ = self._group_lower[self._kept]
        lp.col_upper_ = np.full(size, inf)
        lp.row_lower_ = np.where(np.isinf(row_lower), -inf, row_lower)
        lp.row_upper_ = np.where(np.isinf(row_upper), inf, row_upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = sub.indptr
        lp.a_matrix_.index_ = sub.indices
        lp.a_matrix_.value_ = sub.data
        self._highs = _quiet_highs(highspy)
        # Only the objective changes between solves, so the last basis stays primal feasible:
        # primal simplex from it takes a few iterations (dual simplex or presolve start over).
        self._highs.setOptionValue("presolve", "off")
        self._highs.setOptionValue("simplex_strategy", 4)
        self._highs.passModel(lp)
        self._objective: np.ndarray | None = None
        self.solves = 0
        self._seen_low = np.full(size, math.inf)
        self._seen_high = np.full(size, -math.inf)
        self._max = np.full(size, math.nan)
        self._min = np.full(size, math.nan)
        self._model_matrix, self._model_rows = sub, (row_lower, row_upper)
        self._nonzeros = np.diff(sub.indptr)
        self._propagate(sub, (row_lower, row_upper))

    def _aggregate(self, matrix: csc_matrix) -> np.ndarray:
        """Set _model_of (column -> model column), _kept, _offset; return the lower bounds of
        each column's model unknown (a group's: the sum of its members' lower bounds)."""
        size = matrix.shape[1]
        counts = np.diff(matrix.indptr)
        groups: dict[tuple[int, float], list[int]] = {}
        for column in np.flatnonzero(counts == 1):
            position = matrix.indptr[column]
            coefficient = float(matrix.data[position])
            if coefficient > 0:
                groups.setdefault((int(matrix.indices[position]), coefficient), []).append(column)
        representative = np.arange(size)
        group_lower = self._lower.copy()
        self._offset = np.zeros(size)
        self._grouped = np.zeros(size, dtype=bool)
        for members in groups.values():
            if len(members) < 2:
                continue
            total = float(self._lower[members].sum())
            representative[members] = members[0]
            group_lower[members[0]] = total
            self._offset[members] = total - self._lower[members]
            self._grouped[members] = True
        self._kept = np.flatnonzero(representative == np.arange(size))
        position = np.full(size, -1)
        position[self._kept] = np.arange(len(self._kept))
        self._model_of = position[representative]
        self._model_audited = np.zeros(len(self._kept), dtype=bool)
        self._model_audited[self._model_of[self._audited]] = True
        return group_lower

    # --- solving ----------------------------------------------------------------------------

    def feasible(self) -> bool:
        solution = self._run()
        if solution is not None:
            self._seen(solution)
        return solution is not None

    def _run(self) -> np.ndarray | None:
        """Solve; the solution, or None when infeasible; _Unbounded when unbounded."""
        status = self._highs.run()
        self.solves += 1
        model_status = self._highs.getModelStatus()
        statuses = self._highspy.HighsModelStatus
        if model_status == statuses.kOptimal:
            return np.array(self._highs.getSolution().col_value)
        if model_status in (statuses.kUnbounded, statuses.kUnboundedOrInfeasible):
            raise _Unbounded
        if model_status == statuses.kInfeasible:
            return None
        raise AuditError(f"HiGHS could not solve a component: {model_status} ({status})")

    def _optimise(self, costs: np.ndarray) -> float | None:
        """Minimise costs . x; the objective value, None when unbounded."""
        if self._objective is not None:
            changed = np.flatnonzero(self._objective != costs)
        else:
            changed = np.flatnonzero(costs)
        if len(changed):
            self._highs.changeColsCost(len(changed), changed.astype(np.int32), costs[changed])
        self._objective = costs
        try:
            solution = self._run()
        except _Unbounded:
            return None
        if solution is None:
            raise AuditError("a component became infeasible while it was being audited")
        self._seen(solution)
        return float(costs @ solution)

    def _seen(self, solution: np.ndarray) -> None:
        np.minimum(self._seen_low, solution, out=self._seen_low)
        np.maximum(self._seen_high, solution, out=self._seen_high)

    def _solve_max(self, model: int) -> None:
        if not math.isnan(self._max[model]):
            return
        costs = np.zeros(len(self._kept))
        costs[model] = -1.0
        value = self._optimise(costs)
        self._max[model] = math.inf if value is None else -value

    def _solve_min(self, model: int) -> None:
        if not math.isnan(self._min[model]):
            return
        if self._seen_low[model] <= self._group_lower[self._kept[model]] + _INTEGER_SLACK:
            self._min[model] = self._group_lower[self._kept[model]]  # its bound, reached
            return
        costs = np.zeros(len(self._kept))
        costs[model] = 1.0
        value = self._optimise(costs)
        self._min[model] = self._group_lower[self._kept[model]] if value is None else value

    def _known_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The tightest valid bounds on each model unknown known so far: its own lower bound,
        the last propagation's, and the exact extremes solved since."""
        low = self._group_lower[self._kept].astype(float)
        high = np.full(len(self._kept), math.inf)
        if hasattr(self, "_cap_high"):
            low, high = np.maximum(low, self._floor_low), self._cap_high.copy()
        # solved extremes are exact up to HiGHS's tolerance: widened by it, so that bounds
        # never cross (propagating crossed bounds around a cycle would grow without end)
        high = np.where(np.isnan(self._max), high, np.minimum(high, self._max + _LP_SLACK))
        low = np.where(np.isnan(self._min), low, np.maximum(low, self._min - _LP_SLACK))
        return np.minimum(low, high), high

    def _propagate(self, matrix: csc_matrix, rows: tuple[np.ndarray, np.ndarray]) -> None:
        """Bounds implied row by row (domain propagation): a valid lower bound on each model
        unknown's min and upper bound on its max, found without solving anything."""
        coo = matrix.tocoo()
        row, col, a = coo.row, coo.col, coo.data
        row_lower, row_upper = rows
        low, high = self._known_bounds()
        n_rows = matrix.shape[0]
        for _ in range(_PROPAGATION_ROUNDS):
            least = np.where(a > 0, a * low[col], a * high[col])  # each term's smallest value
            most = np.where(a > 0, a * high[col], a * low[col])
            least_rest = _rest(least, row, n_rows, -math.inf)
            most_rest = _rest(most, row, n_rows, math.inf)
            with np.errstate(invalid="ignore"):
                upper_cap = np.where(
                    a > 0, (row_upper[row] - least_rest) / a, (row_lower[row] - most_rest) / a
                )
                lower_cap = np.where(
                    a > 0, (row_lower[row] - most_rest) / a, (row_upper[row] - least_rest) / a
                )
            upper_cap = np.where(np.isnan(upper_cap), math.inf, upper_cap)
            lower_cap = np.where(np.isnan(lower_cap), -math.inf, lower_cap)
            new_high, new_low = high.copy(), low.copy()
            np.minimum.at(new_high, col, upper_cap + _LP_SLACK)
            np.maximum.at(new_low, col, lower_cap - _LP_SLACK)
            new_low = np.minimum(new_low, new_high)
            if not ((new_high < high - _LP_SLACK).any() or (new_low > low + _LP_SLACK).any()):
                break
            high, low = np.minimum(high, new_high), np.maximum(low, new_low)
        self._cap_high, self._floor_low = high, low

    def _state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per column, as integers: the max lies in [max_lo, max_hi], the min in
        [min_lo, min_hi] (an exact solve makes the two ends equal)."""
        model = self._model_of
        solved_max, solved_min = ~np.isnan(self._max), ~np.isnan(self._min)
        max_lo = np.where(solved_max, self._max, self._seen_high)[model] - self._offset
        max_hi = np.where(solved_max, self._max, self._cap_high)[model] - self._offset
        reached = self._seen_low <= self._group_lower[self._kept] + _INTEGER_SLACK
        min_lo = np.where(solved_min, self._min, self._floor_low)[model]
        min_hi = np.where(
            solved_min | reached, np.where(solved_min, self._min, self._seen_low), self._seen_low
        )[model]
        min_lo = np.where(self._grouped, self._lower, np.maximum(min_lo, self._lower))
        min_hi = np.where(self._grouped | reached[model], self._lower, min_hi)
        return (
            np.floor(max_lo + _INTEGER_SLACK),
            np.floor(max_hi + _INTEGER_SLACK),
            np.ceil(min_lo - _INTEGER_SLACK),
            np.ceil(min_hi - _INTEGER_SLACK),
        )

    def _undecided(self, k: int) -> np.ndarray:
        """Audited columns of which it is not yet known whether they are exact, or below k."""
        max_lo, max_hi, min_lo, min_hi = self._state()
        below_k_known = (max_hi < k) | (max_lo >= k)
        exact_known = (max_lo > min_hi) | (max_hi == min_lo)
        return self._audited & ~(below_k_known & exact_known)

    def extremes(self, k: int) -> _Bounds:
        """Integer bounds of every column: decided for every audited column whether it is
        exact and whether its max is below k, with the narrowest interval and the lowest
        maximum exact; the rest as far as that needed."""
        # Random objectives first: each vertex puts many unknowns high (or low) at once, which
        # shows them to reach k and to take more than one value, while that pays.
        rng = np.random.default_rng(0)
        undecided = self._undecided(k)
        pair_start = int(undecided.sum())
        for attempt in range(_RANDOM_SOLVES):
            if not undecided.any():
                break
            targets = np.zeros(len(self._kept), dtype=bool)
            targets[self._model_of[undecided]] = True
            # a random half of them, so that they do not all compete for the same slack
            chosen = targets & (rng.random(len(self._kept)) < 0.5)
            weights = rng.uniform(0.5, 1.5, len(self._kept)) * chosen
            self._optimise(-weights if attempt % 2 == 0 else weights)  # high, then low
            undecided = self._undecided(k)
            if attempt % 2:
                left = int(undecided.sum())
                if pair_start - left < max(_RANDOM_SOLVE_GAIN, pair_start // 50):
                    break  # one solve per cell decides as many now
                pair_start = left
        # Hubs first (totals that many relations share): their exact extremes, propagated,
        # decide many of the cells under them without a solve of their own.
        while True:
            undecided = np.flatnonzero(self._undecided(k))
            if not len(undecided):
                break
            order = undecided[np.argsort(-self._nonzeros[self._model_of[undecided]], kind="stable")]
            for column in order[:_SOLVES_BETWEEN_PROPAGATIONS]:
                if not self._undecided(k)[column]:
                    continue
                model = int(self._model_of[column])
                self._solve_max(model)
                if not self._grouped[column] and self._undecided(k)[column]:
                    self._solve_min(model)
            self._propagate(self._model_matrix, self._model_rows)
        self._narrowest()
        max_lo, max_hi, min_lo, min_hi = self._state()
        pinned = max_hi == min_lo  # max <= min: one value
        upper_exact = (max_lo == max_hi) | pinned
        lower_exact = (min_lo == min_hi) | pinned
        # an upper bound that shows a cell below k, else a value that shows it reaches k
        upper = np.where(upper_exact | (max_hi < k), max_hi, max_lo)
        lower = np.where(lower_exact, min_lo, min_hi)
        return _Bounds(lower, lower_exact, upper, upper_exact)

    def _narrowest(self) -> None:
        """Make exact the narrowest interval and the lowest maximum among audited columns."""
        audited = self._audited
        while True:
            max_lo, max_hi, min_lo, min_hi = self._state()
            exact = ((max_lo == max_hi) & (min_lo == min_hi)) | (max_hi == min_lo)
            narrowest = np.min(np.where(audited & exact, max_lo - min_lo, math.inf))
            lowest = np.min(np.where(audited & (max_lo == max_hi), max_lo, math.inf))
            open_width = audited & ~exact & (max_lo - min_hi < narrowest)
            open_high = audited & (max_lo != max_hi) & (max_lo < lowest)
            if open_width.any():
                column = int(np.argmin(np.where(open_width, max_lo - min_hi, math.inf)))
            elif open_high.any():
                column = int(np.argmin(np.where(open_high, max_lo, math.inf)))
            else:
                return
            model = int(self._model_of[column])
            self._solve_max(model)
            if not self._grouped[column]:
                self._solve_min(model)


def _rest(terms: np.ndarray, row: np.ndarray, n_rows: int, infinite: float) -> np.ndarray:
    """For each term, the sum of the other terms of its row (infinite ones counted apart)."""
    is_inf = np.isinf(terms)
    finite_sum = np.bincount(row, weights=np.where(is_inf, 0.0, terms), minlength=n_rows)
    inf_count = np.bincount(row, weights=is_inf.astype(float), minlength=n_rows)
    others_inf = inf_count[row] - is_inf
    rest = finite_sum[row] - np.where(is_inf, 0.0, terms)
    return np.where(others_inf > 0, infinite, rest)


def _quiet_highs(highspy: Any) -> Any:
    """A HiGHS instance that prints nothing: its first construction in a process prints a
    banner on file descriptor 1, below Python (where it would end up in `fmw`'s output)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    return highs


class _Unbounded(Exception):
    """The objective has no finite optimum: the cell can be as large as one likes."""


def describe_intervals(intervals: Iterable[CellInterval]) -> list[str]:
    return [
        f"{interval.cell.describe()}: [{interval.lower}, {_number(interval.upper)}]"
        for interval in intervals
    ]


def render(report: AuditReport, worst: int = 10) -> str:
    """The audit for a terminal: the summary, per table, the worst cells and the findings."""
    lines = [report.summary() + ".", ""]
    lines.append(f"{'table.column':<55} {'suppressed':>10} {'exact':>6} {'ub<k':>6}")
    for name, (cells, exact, under) in report.by_table().items():
        lines.append(f"{name:<55} {cells:>10} {exact:>6} {under:>6}")
    if report.intervals:
        lines += ["", f"narrowest intervals (of {len(report.intervals)}):"]
        lines += [f"  {line}" for line in describe_intervals(report.worst(worst))]
    if report.measure_findings:
        lines += [
            "",
            f"measures published over suppressed or small counts ({len(report.measure_findings)}):",
        ]
        lines += [f"  {finding.describe()}" for finding in report.measure_findings[:worst]]
    if report.problems:
        lines += ["", "published numbers that contradict the audit's relations:"]
        lines += [f"  {problem}" for problem in report.problems[:worst]]
    lines += [
        "",
        f"{'PASS' if report.passes else 'FAIL'}: audited {', '.join(report.tables_read)} in "
        f"{report.seconds:.2f} s ({report.components} components, largest "
        f"{report.largest_component} unknowns, {report.lp_solves} LP solves).",
    ]
    return "\n".join(lines) + "\n"
