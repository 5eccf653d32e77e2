"""Random draws of the generator: weighted choices, integers, uuids, from one stream."""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

_T = TypeVar("_T")

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class _Weighted:
    """Weighted choice among codes: one random number and one bisect per draw."""

    __slots__ = ("values", "_cum", "_total")

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.values = tuple(weights)
        cum: list[float] = []
        total = 0.0
        for weight in weights.values():
            total += weight
            cum.append(total)
        cum[-1] = float("inf")  # rounding can never step past the last value
        self._cum = cum
        self._total = total

    def pick(self, rng: random.Random) -> str:
        return self.values[bisect.bisect_right(self._cum, rng.random() * self._total)]


class _Multi:
    """A select_multiple answer: each option independently; written in choice-list order."""

    __slots__ = ("_options", "_fallback")

    def __init__(
        self, order: Iterable[str], probabilities: Mapping[str, float], fallback: str
    ) -> None:
        self._options = tuple(
            (code, probabilities[code]) for code in order if code in probabilities
        )
        self._fallback = fallback

    def draw(self, rng: random.Random) -> str:
        chosen = [code for code, p in self._options if rng.random() < p]
        return " ".join(chosen) if chosen else self._fallback


def _int(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high] from one random(): the random module's randint,
    randrange and choice run Python code per call and dominated the generator's time."""
    return low + int(rng.random() * (high - low + 1))


def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _one(rng: random.Random, options: Sequence[_T]) -> _T:
    return options[int(rng.random() * len(options))]


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"
