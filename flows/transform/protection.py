"""Secondary cell suppression over linked tables: one pattern for every published count.

The marts publish counts of survey respondents in several tables that share margins (month
within quarter, corridor within province, crossing point within direction, a category
within its base). Each table protecting its own small cells is not enough: a reader who
combines tables recovers them. So every count the marts publish is a *cell* of one linked
set, every way to compute one cell from others is a *relation* (parent = sum of children;
cells that are never published, such as a province-quarter total that two tables share,
link them), and one pass decides which cells are published. It is the linked-tables
approach of tau-ARGUS and sdcTable's protectLinkedTables, in three steps:

1. Primary suppression: a publishable cell below k (zero included).
2. Complementary suppression, relation by relation until nothing changes (the "modular"
   fixpoint over linked tables): in every relation where a suppressed cell is unknown to
   the reader, at least two members must be unknown, and when the parent is known the
   unknown children must leave room for k (their values above what the reader already
   knows they hold add up to at least k); otherwise the smallest published member
   (ties by cell id) is suppressed too. A cell that `follows` another is suppressed with it.
3. An attacker's linear program over everything published: each suppressed cell must be
   able to reach k and to differ from its true value (so its interval [min, max] reaches
   k and is not a point) under all relations, published cells fixed, every cell >= its
   known minimum. For a cell that fails, a second linear program finds the published
   cells that must move for it to get there at the least cost (the cells' values, as
   tau-ARGUS weighs them): those are suppressed, and steps 2-3 run again. The repair
   makes each failing cell pass by construction, so the rounds converge.

Everything here is pure: cells and relations in, a verdict per cell out (dbt's Python
model int_disclosure_pattern feeds it from the marts' counts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import highspy
import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csc_matrix, csr_matrix, hstack

PUBLISHED = "published"
PRIMARY = "primary"
SECONDARY = "secondary"
UNPUBLISHED = "unpublished"

_LOG = logging.getLogger(__name__)
_EPS = 1e-6
MAX_REPAIR_ROUNDS = 200
FAILING_PER_ROUND = 100
# HiGHS settings of the attacker's LPs (_ComponentLp), which are solved again and again with
# a new objective and new bounds. Primal simplex restarts from the previous optimal basis;
# dual simplex gains less from it once the objective has changed. Without presolve, the
# first solve of each component costs less too. Only the speed changes: a verdict rests on
# an optimal value or on a feasible solution, never on which optimum HiGHS returns. (Cells
# of a 5,000-survey sample: 8.4 s with HiGHS's defaults, 6.6 s with primal simplex, 5.3 s
# without presolve as well; of 1 M submissions: 1.07 s -> 0.83 s; the same verdicts.)
ATTACKER_LP_OPTIONS: dict[str, str | int] = {"presolve": "off", "simplex_strategy": 4}


class ProtectionError(RuntimeError):
    """No pattern could be found that protects every cell (never publish unprotected)."""


@dataclass(frozen=True)
class Cell:
    """One count. `publishable` false: a margin no table publishes, which links tables.
    `suppressible` false: a number published whatever happens (an ops row count).
    `sensitive` false: an unpublished margin below k that needs no protection (no person's
    answer is behind it: rows nobody stands behind, rejected submissions).
    `min_value`: what a reader knows it holds at least (1 for a row that exists only when
    someone stands behind it). `follows`: suppressed whenever that cell is."""

    cell_id: str
    value: int
    publishable: bool = True
    suppressible: bool = True
    min_value: int = 0
    follows: str | None = None
    sensitive: bool = True


@dataclass(frozen=True)
class Relation:
    """parent = sum(children), known to every reader."""

    relation_id: str
    parent: str
    children: tuple[str, ...]


@dataclass
class _Problem:
    ids: list[str]
    value: np.ndarray
    publishable: np.ndarray
    suppressible: np.ndarray
    min_value: np.ndarray
    follows: np.ndarray  # index of the followed cell, -1 for none
    sensitive: np.ndarray
    members: list[list[int]]  # per relation: parent first, then children
    followers: list[list[int]]  # per cell: the cells that follow it
    relations_of: list[list[int]]
    order: np.ndarray = field(init=False)  # cell ranks: smallest value first, then id
    # the cells a reader must not pin down nor bound below k: every publishable cell that
    # is withheld, and every unpublished count below k (the men of a corridor, when its
    # respondents and women are published, are a count too)
    watched: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        # by value, then id (numpy compares strings by code point, as Python does)
        ranks = np.lexsort((np.array(self.ids, dtype=str), self.value))
        self.order = np.empty(len(self.ids), dtype=np.int64)
        self.order[ranks] = np.arange(len(self.ids))


def _problem(cells: Sequence[Cell], relations: Sequence[Relation]) -> _Problem:
    # The cells in id order, whatever order they came in: the LPs' columns follow it, and a
    # degenerate LP's optimum (so the pattern) may depend on the order of its columns.
    cells = sorted(cells, key=lambda cell: cell.cell_id)
    index: dict[str, int] = {}
    for i, cell in enumerate(cells):
        if cell.cell_id in index:
            raise ValueError(f"cell {cell.cell_id!r} is listed twice")
        index[cell.cell_id] = i

    def at(cell_id: str, where: str) -> int:
        try:
            return index[cell_id]
        except KeyError:
            raise ValueError(f"{where} names the unknown cell {cell_id!r}") from None

    members: list[list[int]] = []
    relations_of: list[list[int]] = [[] for _ in cells]
    for relation in sorted(relations, key=lambda r: r.relation_id):
        where = f"relation {relation.relation_id!r}"
        row = [at(relation.parent, where)] + [at(c, where) for c in relation.children]
        if len(set(row)) != len(row):
            raise ValueError(f"{where} names a cell twice")
        for i in row:
            relations_of[i].append(len(members))
        members.append(row)
    follows = [at(c.follows, f"cell {c.cell_id!r}") if c.follows else -1 for c in cells]
    return _Problem(
        ids=[c.cell_id for c in cells],
        value=np.array([c.value for c in cells], dtype=np.int64),
        publishable=np.array([c.publishable for c in cells], dtype=bool),
        suppressible=np.array([c.suppressible for c in cells], dtype=bool),
        min_value=np.array([c.min_value for c in cells], dtype=np.int64),
        follows=np.array(follows, dtype=np.int64),
        sensitive=np.array([c.sensitive for c in cells], dtype=bool),
        members=members,
        followers=_followers(follows),
        relations_of=relations_of,
    )


def _followers(follows: list[int]) -> list[list[int]]:
    followers: list[list[int]] = [[] for _ in follows]
    for cell, followed in enumerate(follows):
        if followed >= 0:
            followers[followed].append(cell)
    return followers


def cells_of(frame: pd.DataFrame) -> list[Cell]:
    """The cells of int_disclosure_cells' rows."""
    return [
        Cell(
            cell_id=row.cell_id,
            value=int(row.respondents),
            publishable=bool(row.publishable),
            suppressible=bool(row.suppressible),
            min_value=int(row.min_value),
            follows=row.follows if isinstance(row.follows, str) else None,
            sensitive=bool(row.sensitive),
        )
        for row in frame.itertuples(index=False)
    ]


def relations_of(frame: pd.DataFrame) -> list[Relation]:
    """The relations of int_disclosure_relations' rows (one parent and its children each)."""
    frame = frame.sort_values(
        ["relation_id", "is_parent", "cell_id"], ascending=[True, False, True]
    )
    relations = []
    ids = frame["relation_id"].to_numpy()
    cells = frame["cell_id"].to_numpy()
    parents = frame["is_parent"].to_numpy()
    start = 0
    while start < len(ids):
        end = start
        while end < len(ids) and ids[end] == ids[start]:
            end += 1
        if parents[start:end].sum() != 1:
            raise ValueError(f"relation {ids[start]!r} needs exactly one parent")
        relations.append(Relation(ids[start], cells[start], tuple(cells[start + 1 : end])))
        start = end
    return relations


def protect(cells: Sequence[Cell], relations: Sequence[Relation], k: int) -> dict[str, str]:
    """The verdict of every cell: published, primary, secondary or unpublished."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    problem = _problem(cells, relations)
    problem.watched = (problem.publishable | (problem.sensitive & (problem.value < k))) & ~(
        _provably_empty(problem)
    )
    primary = problem.publishable & problem.suppressible & (problem.value < k)
    hidden = primary | ~problem.publishable
    # withholding more only widens every interval, so a cell once shown protected stays so
    settled = np.zeros(len(problem.ids), dtype=bool)
    for round_ in range(MAX_REPAIR_ROUNDS):
        started = time.perf_counter()
        _complementary(problem, hidden, k)
        modular = time.perf_counter()
        failing = _failing_cells(problem, hidden, k, settled)
        _LOG.debug(
            "round %d: %d withheld, modular %.1fs, LP %.1fs, %d failing",
            round_,
            int((hidden & problem.publishable).sum()),
            modular - started,
            time.perf_counter() - modular,
            len(failing),
        )
        if not failing:
            break
        _repair(problem, hidden, failing, k)
    else:
        raise ProtectionError(f"no protected pattern within {MAX_REPAIR_ROUNDS} repair rounds")
    verdicts = {}
    for i, cell_id in enumerate(problem.ids):
        if not problem.publishable[i]:
            verdicts[cell_id] = UNPUBLISHED
        elif primary[i]:
            verdicts[cell_id] = PRIMARY
        elif hidden[i]:
            verdicts[cell_id] = SECONDARY
        else:
            verdicts[cell_id] = PUBLISHED
    return verdicts


def _provably_empty(problem: _Problem) -> np.ndarray:
    """Cells that hold 0 whatever is published: the empty cells given (nobody stands
    behind them, and other tables tell so by their missing rows), a total whose parts are
    all empty (or that has none), and every part of an empty total. No person's answer is
    behind them, so there is nothing to protect (and nothing could)."""
    empty = (problem.value == 0) & ~problem.publishable & ~problem.sensitive
    changed = True
    while changed:
        changed = False
        for row in problem.members:
            parent, children = row[0], row[1:]
            if not empty[parent] and all(empty[c] for c in children):
                empty[parent] = changed = True
            if empty[parent]:
                for child in children:
                    if not empty[child]:
                        empty[child] = changed = True
    return empty


# --- step 2: complementary suppression to a fixpoint ----------------------------------------


def _known(problem: _Problem, hidden: np.ndarray) -> np.ndarray:
    """What a reader can compute one relation at a time: the published cells, then every
    unpublished margin that is the one unknown of a relation. A suppressed publishable cell
    is never marked known here: being the one unknown of a relation is what step 2 fixes."""
    known = ~hidden
    unknown_count = [sum(1 for i in row if not known[i]) for row in problem.members]
    queue = [r for r, n in enumerate(unknown_count) if n == 1]
    while queue:
        r = queue.pop()
        if unknown_count[r] != 1:
            continue
        (cell,) = [i for i in problem.members[r] if not known[i]]
        if problem.watched[cell]:
            continue
        known[cell] = True
        for other in problem.relations_of[cell]:
            unknown_count[other] -= 1
            if unknown_count[other] == 1:
                queue.append(other)
    return known


def _needs_more(problem: _Problem, row: list[int], known: np.ndarray, k: int) -> bool:
    unknown = [i for i in row if not known[i]]
    if not any(problem.watched[i] for i in unknown):
        return False
    if len(unknown) < 2:
        return True
    if not known[row[0]]:
        return False  # the parent's own relations bound it; the LP checks the rest
    room = sum(int(problem.value[i] - problem.min_value[i]) for i in unknown)
    return room < k


def _smallest_published(problem: _Problem, candidates: Iterable[int], hidden: np.ndarray) -> int:
    best = -1
    for i in candidates:
        if hidden[i] or not problem.suppressible[i]:
            continue
        if best < 0 or problem.order[i] < problem.order[best]:
            best = i
    return best


def _complementary(problem: _Problem, hidden: np.ndarray, k: int) -> None:
    """Hide cells until every relation is protected. Within a sweep, the margins a reader
    could derive are those of the sweep's start (hiding only takes knowledge away, so a
    stale 'known' can only ask for more); sweeps repeat until one changes nothing."""
    while True:
        changed = _follow(problem, hidden)
        known = _known(problem, hidden)
        queue = list(range(len(problem.members)))
        queued = np.ones(len(problem.members), dtype=bool)
        while queue:
            r = queue.pop()
            queued[r] = False
            row = problem.members[r]
            if not _needs_more(problem, row, known, k):
                continue
            # a child first: hiding the total of a relation spreads to its own relations
            pick = _smallest_published(problem, row[1:], hidden)
            if pick < 0:
                pick = _smallest_published(problem, row[:1], hidden)
            if pick < 0:
                continue
            changed = True
            for cell in _hide(problem, hidden, pick):
                known[cell] = False
                for other in problem.relations_of[cell]:
                    if not queued[other]:
                        queued[other] = True
                        queue.append(other)
        if not changed:
            return


def _hide(problem: _Problem, hidden: np.ndarray, cell: int) -> list[int]:
    """Hide a cell and the cells that follow it; the cells newly hidden."""
    newly = [cell]
    hidden[cell] = True
    position = 0
    while position < len(newly):
        for follower in problem.followers[newly[position]]:
            if not hidden[follower]:
                hidden[follower] = True
                newly.append(follower)
        position += 1
    return newly


def _follow(problem: _Problem, hidden: np.ndarray) -> bool:
    changed = False
    while True:
        follows = problem.follows >= 0
        newly = follows & ~hidden & hidden[np.where(follows, problem.follows, 0)]
        if not newly.any():
            return changed
        hidden |= newly
        changed = True


# --- step 3: the attacker's linear program ---------------------------------------------------


@dataclass
class _System:
    """The relations over the unknown cells: A x = b, with the published cells moved to b."""

    variables: np.ndarray  # cell index of each LP variable
    matrix: csr_matrix
    rhs: np.ndarray
    lower: np.ndarray
    upper_cap: float
    components: list[np.ndarray]  # LP variable indices of each connected part
    component_rows: list[np.ndarray]  # the matrix rows (relations) of each, ascending
    # The matrix with its rows and columns grouped by component (each in ascending order),
    # row-wise and column-wise: one component's block is a contiguous slice of each.
    grouped_rows: csr_matrix
    grouped_columns: csc_matrix
    row_start: np.ndarray  # of each component's rows in the grouped matrix, and the end
    column_start: np.ndarray  # of each component's columns, and the end


def _system(problem: _Problem, hidden: np.ndarray) -> _System:
    variables = np.flatnonzero(hidden)
    column = np.full(len(problem.ids), -1, dtype=np.int64)
    column[variables] = np.arange(len(variables))
    rows, cols, data, rhs = [], [], [], []
    first_column: list[int] = []  # of each matrix row: its component is the row's
    parent_of = np.arange(len(variables))

    def root(i: int) -> int:
        while parent_of[i] != i:
            parent_of[i] = parent_of[parent_of[i]]
            i = parent_of[i]
        return i

    for row in problem.members:
        constant = 0
        entries = []
        for position, cell in enumerate(row):
            sign = -1 if position == 0 else 1
            if column[cell] >= 0:
                entries.append((column[cell], sign))
            else:
                constant -= sign * int(problem.value[cell])
        if not entries:
            continue
        r = len(rhs)
        for col, sign in entries:
            rows.append(r)
            cols.append(col)
            data.append(sign)
        rhs.append(constant)
        first_column.append(entries[0][0])
        first = root(entries[0][0])
        for col, _ in entries[1:]:
            parent_of[root(col)] = first
    matrix = csr_matrix((data, (rows, cols)), shape=(len(rhs), len(variables)))
    roots = np.array([root(i) for i in range(len(variables))], dtype=np.int64)
    unique_roots = np.unique(roots)
    components = _grouped(roots, unique_roots)
    # all of a row's variables are in one component: its first one's
    component_rows = _grouped(roots[np.array(first_column, dtype=np.int64)], unique_roots)
    grouped = _grouped_by_component(matrix, components, component_rows)
    return _System(
        variables=variables,
        matrix=matrix,
        rhs=np.array(rhs, dtype=float),
        lower=problem.min_value[variables].astype(float),
        upper_cap=_upper_cap(problem),
        components=components,
        component_rows=component_rows,
        grouped_rows=grouped,
        grouped_columns=grouped.tocsc(),
        row_start=_starts(component_rows),
        column_start=_starts(components),
    )


def _grouped_by_component(
    matrix: csr_matrix, components: list[np.ndarray], component_rows: list[np.ndarray]
) -> csr_matrix:
    """The matrix with its rows and its columns in component order. Slicing the whole
    matrix once per component cost more than the solves at a million submissions."""
    empty = np.zeros(0, dtype=np.int64)
    row_order = np.concatenate(component_rows) if component_rows else empty
    column_order = np.concatenate(components) if components else empty
    grouped = matrix[row_order][:, column_order].tocsr()
    grouped.sort_indices()
    return grouped


def _starts(groups: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(group) for group in groups])]).astype(np.int64)


def _grouped(labels: np.ndarray, groups: np.ndarray) -> list[np.ndarray]:
    """For each of `groups` (sorted labels), the ascending positions that carry its label."""
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    starts = np.searchsorted(ordered, groups, side="left")
    ends = np.searchsorted(ordered, groups, side="right")
    return [order[start:end] for start, end in zip(starts, ends, strict=True)]


class _ComponentLp:
    """One component's relations in HiGHS, kept between solves: each check only changes
    the objective and the bounds, and HiGHS starts from the previous basis."""

    def __init__(self, system: _System, number: int) -> None:
        # The component's block: its rows and its variables, renumbered from 0 in the
        # component's order, as contiguous slices of the grouped matrix.
        first_row, end_row = system.row_start[number], system.row_start[number + 1]
        first_column, end_column = system.column_start[number], system.column_start[number + 1]
        self.size = int(end_column - first_column)
        self.row_count = int(end_row - first_row)
        self.row_pointers, self.row_columns, row_values = _block(
            system.grouped_rows, first_row, end_row, first_column
        )
        self.column_pointers, self.column_rows, column_values = _block(
            system.grouped_columns, first_column, end_column, first_row
        )
        component = system.components[number]
        self.lower = system.lower[component]
        self.cap = system.upper_cap
        self.rhs = system.rhs[system.component_rows[number]]
        self.row_values = row_values
        lp = highspy.HighsLp()
        lp.num_col_ = self.size
        lp.num_row_ = self.row_count
        lp.col_cost_ = np.zeros(self.size)
        lp.col_lower_ = self.lower
        lp.col_upper_ = np.full(self.size, self.cap)
        lp.row_lower_ = self.rhs
        lp.row_upper_ = self.rhs
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.column_pointers
        lp.a_matrix_.index_ = self.column_rows
        lp.a_matrix_.value_ = column_values.astype(float)
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        for option, value in ATTACKER_LP_OPTIONS.items():
            self.highs.setOptionValue(option, value)
        self.highs.passModel(lp)
        self.every = np.arange(self.size, dtype=np.int32)

    @cached_property
    def rows(self) -> csr_matrix:
        """The block, row-wise (each row one relation over the component's variables)."""
        return csr_matrix(
            (self.row_values, self.row_columns, self.row_pointers),
            shape=(self.row_count, self.size),
        )

    def neighbourhood_bound(self, position: int, target: float, radius: int = 2) -> bool:
        """Whether the cell can reach target under the relations near it only (those whose
        cells are all within `radius` relations of it). Fewer relations bind less, so a
        cell that cannot reach its target here cannot at all: a cheap proof of failure."""
        near = {position}
        for _ in range(radius):
            rows = {int(r) for c in near for r in self._rows_of(c)}
            near |= {int(c) for r in rows for c in self._columns_of(r)}
        variables = np.array(sorted(near))
        inside = np.zeros(self.size, dtype=bool)
        inside[variables] = True
        rows = sorted(
            r
            for r in {int(r) for c in variables for r in self._rows_of(c)}
            if inside[self._columns_of(r)].all()
        )
        sub = self.rows[rows][:, variables]
        bounds = np.column_stack([self.lower[variables], np.full(len(variables), self.cap)])
        where = int(np.flatnonzero(variables == position)[0])
        bounds[where, 1] = target
        cost = np.zeros(len(variables))
        cost[where] = -1.0
        result = linprog(
            cost,
            A_eq=sub if rows else None,
            b_eq=self.rhs[rows] if rows else None,
            bounds=bounds,
            method="highs",
        )
        return result.status == 0 and result.x[where] >= target - _EPS

    def _rows_of(self, column: int) -> np.ndarray:
        return self.column_rows[self.column_pointers[column] : self.column_pointers[column + 1]]

    def _columns_of(self, row: int) -> np.ndarray:
        return self.row_columns[self.row_pointers[row] : self.row_pointers[row + 1]]

    def minimise(
        self, cost: np.ndarray, upper: np.ndarray, lower: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The variables' values at a minimum of cost . x, or None (infeasible, unbounded).
        `lower` raises some cells' floors above what the reader knows (never lowers them)."""
        self.highs.changeColsCost(self.size, self.every, np.asarray(cost, dtype=float))
        self.highs.changeColsBounds(
            self.size,
            self.every,
            self.lower if lower is None else np.asarray(lower, dtype=float),
            np.asarray(upper, dtype=float),
        )
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(self.highs.getSolution().col_value)


def _block(
    matrix: csr_matrix | csc_matrix, first: int, end: int, offset: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointers, indices and values of `matrix`'s major slice [first, end), its minor
    indices shifted down by `offset` (the block's first minor index)."""
    start, stop = matrix.indptr[first], matrix.indptr[end]
    pointers = matrix.indptr[first : end + 1] - start
    return pointers, matrix.indices[start:stop] - offset, matrix.data[start:stop]


def _failing_cells(problem: _Problem, hidden: np.ndarray, k: int, settled: np.ndarray) -> list[int]:
    """Suppressed cells the reader could pin down or bound below k."""
    system = _system(problem, hidden)
    failing: list[int] = []
    for number, component in enumerate(system.components):
        cells = system.variables[component]
        if not (problem.watched[cells] & ~settled[cells]).any():
            continue
        failing += _check_component(problem, system, number, k, settled)
    return sorted(failing, key=lambda cell: problem.order[cell])


def _check_component(
    problem: _Problem, system: _System, number: int, k: int, settled: np.ndarray
) -> list[int]:
    """The watched cells of one component that fail, at most FAILING_PER_ROUND of them (the
    rest wait for the next round, after the repair).

    One LP settles many cells at once: maximise the open cells together, each capped at
    its target, and every cell that reaches its target in that one feasible solution is
    protected (the reader cannot rule that solution out). Only when a solution settles
    none is the first open cell solved alone, and the cells after it too while they fail
    alone: a joint solution that settled nothing seldom settles anything once a cell that
    cannot move leaves it. Which cells fail does not depend on this: a failing cell is only
    ever found alone, in cell order."""
    lp = _ComponentLp(system, number)
    cells = system.variables[system.components[number]]
    values = problem.value[cells].astype(float)
    # x reaching max(k, v + 1) shows both: the interval reaches k, and it is not a point
    target = np.maximum(k, values + 1)
    small = values < k
    # distinct weights keep the solver off solutions that spread the room evenly
    weights = 1.0 + (problem.order[cells] % 11) / 11.0
    open_ = problem.watched[cells] & ~settled[cells]
    failing: list[int] = []
    joint = True  # whether to try one solution for every open cell first
    while open_.any() and len(failing) < FAILING_PER_ROUND:
        if joint:
            reached = _reached_up(lp, open_, weights, target, values, small)
            if reached.sum() * 10 < open_.sum():
                # few went up: cells of k or more often can only go down, all at once
                reached |= _reached_down(lp, open_ & ~small & ~reached, weights, values)
            if reached.any():
                settled[cells[reached]] = True
                open_ &= ~reached
                continue
        position = int(np.flatnonzero(open_)[np.argmin(problem.order[cells[open_]])])
        open_[position] = False
        solution = _settling_alone(
            lp, position, target[position], values[position], small[position]
        )
        if solution is None:
            failing.append(int(cells[position]))
            joint = False
            continue
        joint = True
        # the solution that settles the cell is one the reader cannot rule out for the
        # other cells either: every open cell it takes to its target is settled too
        reached = open_ & _settled_by(solution, target, values, small)
        reached[position] = True
        settled[cells[reached]] = True
        open_ &= ~reached
    return failing


def _settled_by(
    solution: np.ndarray, target: np.ndarray, values: np.ndarray, small: np.ndarray
) -> np.ndarray:
    """The cells a feasible solution settles: at their target, or, for a cell of k or more
    (which only needs not to be exact), below its value."""
    return (solution >= target - _EPS) | (~small & (solution <= values - 1 + _EPS))


def _reached_up(
    lp: _ComponentLp,
    open_: np.ndarray,
    weights: np.ndarray,
    target: np.ndarray,
    values: np.ndarray,
    small: np.ndarray,
) -> np.ndarray:
    """The open cells that one solution, pushing them all up to their targets, settles."""
    solution = lp.minimise(-(open_ * weights), np.where(open_, target, lp.cap))
    if solution is None:
        return np.zeros(len(open_), dtype=bool)
    return open_ & _settled_by(solution, target, values, small)


def _reached_down(
    lp: _ComponentLp, open_: np.ndarray, weights: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """The open cells of k or more that one solution, pushing them all down by one,
    settles (a cell that only needs not to be exact is settled by any other value)."""
    if not open_.any():
        return open_
    floor = np.where(open_, np.maximum(lp.lower, values - 1), lp.lower)
    solution = lp.minimise(open_ * weights, np.full(lp.size, lp.cap), lower=floor)
    if solution is None:
        return np.zeros(len(open_), dtype=bool)
    return open_ & (solution <= values - 1 + _EPS)


def _settling_alone(
    lp: _ComponentLp, position: int, target: float, value: float, small: bool
) -> np.ndarray | None:
    """A solution in which this one cell reaches its target, or, for a cell of k or more,
    which only needs not to be exact, goes down by 1; None when there is none."""
    if small and not lp.neighbourhood_bound(position, target):
        return None
    cost = np.zeros(lp.size)
    cost[position] = -1.0
    upper = np.full(lp.size, lp.cap)
    upper[position] = target
    solution = lp.minimise(cost, upper)
    if solution is not None and solution[position] >= target - _EPS:
        return solution
    if small:
        return None
    cost[position] = 1.0
    solution = lp.minimise(cost, np.full(lp.size, lp.cap))
    if solution is not None and solution[position] <= value - 1 + _EPS:
        return solution
    return None


def _repair(problem: _Problem, hidden: np.ndarray, failing: list[int], k: int) -> None:
    """Suppress, for each failing cell, the published cells its cheapest release moves."""
    lp = _ReleaseLp(problem, hidden)
    for cell in failing:
        picks = lp.cheapest_release(cell, k)
        if picks is None:
            raise ProtectionError(f"no suppression can protect {problem.ids[cell]}")
        for pick in picks:
            for newly in _hide(problem, hidden, pick):
                lp.withhold(newly)


def _upper_cap(problem: _Problem) -> float:
    """A bound no cell can need: stands in for "unbounded above" in the LPs."""
    return float(problem.value.sum() + 1) * 2


class _ReleaseLp:
    """Which published cells must a reader be unable to see for a cell to move?

    Every cell gets a shift from its true value; the shifts keep every relation (A s = 0).
    A withheld cell shifts freely down to its known minimum; a published cell shifts only
    through two priced columns (up and down, each costing the cell's value, as tau-ARGUS
    prices a suppression); a cell published whatever happens does not shift. With the
    failing cell's shift fixed to what it must be able to reach, the cheapest solution
    names the published cells that move: suppressing them makes that very solution one
    the reader cannot rule out, so the cell passes the next check."""

    def __init__(self, problem: _Problem, hidden: np.ndarray) -> None:
        self.problem = problem
        n = len(problem.ids)
        rows, cols, signs = [], [], []
        for r, row in enumerate(problem.members):
            for position, cell in enumerate(row):
                rows.append(r)
                cols.append(cell)
                signs.append(-1.0 if position == 0 else 1.0)
        matrix = csr_matrix((signs, (rows, cols)), shape=(len(problem.members), n)).tocsc()
        # columns: shift (0..n-1), up (n..2n-1), down (2n..3n-1)
        columns = hstack([matrix, matrix, -matrix], format="csc")
        self.n = n
        self.cap = _upper_cap(problem)
        self.room_down = (problem.value - problem.min_value).astype(float)
        cost = np.concatenate([np.zeros(n), problem.value, problem.value]).astype(float)
        priced = ~hidden & problem.suppressible
        lp = highspy.HighsLp()
        lp.num_col_ = 3 * n
        lp.num_row_ = len(problem.members)
        lp.col_cost_ = cost
        lp.col_lower_ = np.concatenate([np.where(hidden, -self.room_down, 0.0), np.zeros(2 * n)])
        lp.col_upper_ = np.concatenate(
            [
                np.where(hidden, self.cap, 0.0),
                np.where(priced, self.cap, 0.0),
                np.where(priced, self.room_down, 0.0),
            ]
        )
        lp.row_lower_ = np.zeros(len(problem.members))
        lp.row_upper_ = np.zeros(len(problem.members))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = columns.indptr
        lp.a_matrix_.index_ = columns.indices
        lp.a_matrix_.value_ = columns.data
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)

    def withhold(self, cell: int) -> None:
        self._bounds(cell, -self.room_down[cell], self.cap)
        self._bounds(self.n + cell, 0.0, 0.0)
        self._bounds(2 * self.n + cell, 0.0, 0.0)

    def cheapest_release(self, cell: int, k: int) -> list[int] | None:
        """The published cells to suppress so that the cell can reach max(k, value + 1),
        or, for a cell of k or more, go down by one if that is cheaper; None when nothing
        can release it."""
        value = float(self.problem.value[cell])
        shifts = [max(k, value + 1) - value]
        if value >= k and self.room_down[cell] >= 1:
            shifts.append(-1.0)
        best: tuple[float, list[int]] | None = None
        for shift in shifts:
            moved = self._moved_when_shifted(cell, shift)
            if moved is not None and (best is None or moved[0] < best[0]):
                best = moved
        self._bounds(cell, -self.room_down[cell], self.cap)
        return None if best is None else best[1]

    def _moved_when_shifted(self, cell: int, shift: float) -> tuple[float, list[int]] | None:
        self._bounds(cell, shift, shift)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        values = np.asarray(self.highs.getSolution().col_value)
        moved = values[self.n : 2 * self.n] + values[2 * self.n :]
        return self.highs.getInfo().objective_function_value, [
            int(i) for i in np.flatnonzero(moved > _EPS)
        ]

    def _bounds(self, column: int, lower: float, upper: float) -> None:
        self.highs.changeColBounds(column, lower, upper)


# --- what a reader can derive: for tests and reports ------------------------------------------


def attack_intervals(
    cells: Sequence[Cell], relations: Sequence[Relation], suppressed: Iterable[str], k: int
) -> dict[str, tuple[float, float]]:
    """[min, max] of every suppressed publishable cell and every sensitive unpublished count
    below k, given every other publishable cell published: one LP per bound (inf when
    unbounded)."""
    problem = _problem(cells, relations)
    watched = problem.publishable | (problem.sensitive & (problem.value < k))
    hidden = ~problem.publishable
    index = {cell_id: i for i, cell_id in enumerate(problem.ids)}
    for cell_id in suppressed:
        hidden[index[cell_id]] = True
    system = _system(problem, hidden)
    intervals: dict[str, tuple[float, float]] = {}
    for number, component in enumerate(system.components):
        lp = _ComponentLp(system, number)
        unbounded = np.full(lp.size, highspy.kHighsInf)
        for position, cell in enumerate(system.variables[component]):
            if not watched[cell]:
                continue
            bounds = []
            for sign in (1.0, -1.0):
                cost = np.zeros(lp.size)
                cost[position] = sign
                solution = lp.minimise(cost, unbounded)
                bounds.append(float("inf") if solution is None else float(solution[position]))
            intervals[problem.ids[cell]] = (bounds[0], bounds[1])
    return intervals
