"""Time in the sample: Lao local time, the months submissions span, and arrivals."""

from __future__ import annotations

import bisect
import random
from datetime import date, datetime, timedelta, timezone

from flows.sample.draws import _int

LAO_TZ = timezone(timedelta(hours=7))
_LAO_OFFSET = 7 * 3600
_DAY = 86400


def _lt(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Epoch seconds of a Lao local time."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=LAO_TZ).timestamp())


DATA_START = _lt(2026, 1, 1, 8)  # first submission
DATA_END = _lt(2026, 7, 1)  # submissions stop before this
_MONTH_STARTS = (DATA_START, *(_lt(2026, m, 1) for m in range(2, 7)), DATA_END)
_MONTH_WEIGHTS = (0.9, 1.25, 1.0, 0.85, 1.05, 0.95)  # Feb: after Chinese New Year
_INFLOW_SHARE = (0.25, 0.2, 0.25, 0.5, 0.3, 0.3)  # April: returning for Pi Mai

_DAY_STRINGS: dict[int, str] = {}


def _day_string(days: int) -> str:
    text = _DAY_STRINGS.get(days)
    if text is None:
        text = _DAY_STRINGS[days] = (date(1970, 1, 1) + timedelta(days=days)).isoformat()
    return text


_CLOCK_STRINGS: dict[int, str] = {}  # at most 86,400 entries


def _clock(seconds: int) -> str:
    text = _CLOCK_STRINGS.get(seconds)
    if text is None:
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        text = _CLOCK_STRINGS[seconds] = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return text


def _local_iso_ms(t: int, ms: int) -> str:
    days, seconds = divmod(t + _LAO_OFFSET, _DAY)
    return f"{_day_string(days)}T{_clock(seconds)}.{ms:03d}+07:00"


def _local_date(t: int) -> str:
    return _day_string((t + _LAO_OFFSET) // _DAY)


def _utc_iso(t: int) -> str:
    days, seconds = divmod(t, _DAY)
    return f"{_day_string(days)}T{_clock(seconds)}"


def _local_month_index(t: int) -> int:
    """0 for January 2026 ... 5 for June 2026 (the first morning counts as January)."""
    return min(5, max(0, bisect.bisect_right(_MONTH_STARTS, t) - 1))


class _Timeline:
    """Maps a position in [0, 1) to a submission time, denser in busier months."""

    def __init__(self) -> None:
        masses = [
            w * (end - start)
            for w, start, end in zip(_MONTH_WEIGHTS, _MONTH_STARTS, _MONTH_STARTS[1:], strict=False)
        ]
        total = sum(masses)
        self._cum = [0.0]
        for mass in masses:
            self._cum.append(self._cum[-1] + mass / total)

    def time_at(self, x: float) -> int:
        month = min(bisect.bisect_right(self._cum, x) - 1, len(_MONTH_WEIGHTS) - 1)
        share = (x - self._cum[month]) / (self._cum[month + 1] - self._cum[month])
        start, end = _MONTH_STARTS[month], _MONTH_STARTS[month + 1]
        return start + int(share * (end - start))

    def position_of(self, t: int) -> float:
        month = _local_month_index(t)
        start, end = _MONTH_STARTS[month], _MONTH_STARTS[month + 1]
        share = (t - start) / (end - start)
        return self._cum[month] + share * (self._cum[month + 1] - self._cum[month])


def _interview_end(rng: random.Random, submitted: int) -> int:
    """Interviews happen in the day; phones upload at once, or overnight when offline."""
    local = submitted + _LAO_OFFSET
    hour = (local % _DAY) // 3600
    if 8 <= hour < 20:
        return submitted - _int(rng, 120, 2400)
    day_start = local - local % _DAY - (0 if hour >= 20 else _DAY)
    return day_start + _int(rng, 9 * 3600, 17 * 3600 + 1800) - _LAO_OFFSET
