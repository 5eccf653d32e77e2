"""The attacker's linear system: one variable per published count cell, one row per relation.

A variable is a cell of a published table at its own granularity (or a latent count that no
table publishes but that relations run through). A published cell is fixed to its value; a
suppressed one is free between its lower bound (what the row's presence says: 1 where a row
exists only for a non-empty combination, else 0) and infinity. Integrality is relaxed, as
tau-ARGUS's audit does: the bounds are those of the LP relaxation, rounded inwards.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

Key = tuple[Hashable, ...]


@dataclass(frozen=True)
class Cell:
    """One variable: a published count (table.column at key), or a latent one (table None)."""

    table: str | None
    column: str
    key: Key
    value: int | None  # the published value; None when suppressed (or latent)
    lower: float = 0.0  # what the reader knows without any relation
    # a count of a whole population (a corridor, an area, a point's month), not a part of one
    counts_a_population: bool = False
    part_of: int | None = None  # the variable of the population it is a part of

    @property
    def suppressed(self) -> bool:
        return self.table is not None and self.value is None

    def describe(self) -> str:
        key = ", ".join("NULL" if part is None else str(part) for part in self.key)
        where = self.table or "latent"
        return f"{where}.{self.column}[{key}]"


@dataclass(frozen=True)
class Relation:
    """lower <= sum(coefficient * variable) <= upper, with the reason a reader knows it."""

    terms: dict[int, float]
    lower: float
    upper: float
    why: str


@dataclass
class LinearSystem:
    cells: list[Cell] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    _index: dict[tuple[str | None, str, Key], int] = field(default_factory=dict, repr=False)

    def add_cell(
        self,
        table: str | None,
        column: str,
        key: Key,
        value: int | None,
        lower: float = 0.0,
        population: bool = False,
        part_of: int | None = None,
    ) -> int:
        """The variable of a cell, created on first sight (a later sight returns it)."""
        ident = (table, column, key)
        found = self._index.get(ident)
        if found is not None:
            return found
        self.cells.append(Cell(table, column, key, value, lower, population, part_of))
        self._index[ident] = len(self.cells) - 1
        return len(self.cells) - 1

    def find(self, table: str | None, column: str, key: Key) -> int | None:
        return self._index.get((table, column, key))

    def latent(self, name: str, key: Key) -> int:
        return self.add_cell(None, name, key, None, 0.0)

    def equal(self, left: Iterable[int], right: Iterable[int], why: str) -> None:
        """sum(left) == sum(right); a variable on both sides cancels."""
        terms: dict[int, float] = {}
        for index in left:
            terms[index] = terms.get(index, 0.0) + 1.0
        for index in right:
            terms[index] = terms.get(index, 0.0) - 1.0
        self.add(terms, 0.0, 0.0, why)

    def at_most(self, left: Iterable[int], right: Iterable[int], why: str) -> None:
        """sum(left) <= sum(right)."""
        terms: dict[int, float] = {}
        for index in left:
            terms[index] = terms.get(index, 0.0) + 1.0
        for index in right:
            terms[index] = terms.get(index, 0.0) - 1.0
        self.add(terms, -math.inf, 0.0, why)

    def add(self, terms: dict[int, float], lower: float, upper: float, why: str) -> None:
        terms = {index: value for index, value in terms.items() if value != 0.0}
        if terms:
            self.relations.append(Relation(terms, lower, upper, why))

    def suppressed_cells(self) -> list[int]:
        return [index for index, cell in enumerate(self.cells) if cell.suppressed]
