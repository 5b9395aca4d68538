"""Frequencies and timestamps without pandas (the gateway stays light).

Accepts pandas offset aliases, old and new spellings (``H``/``h``, ``T``/``min``,
``S``/``s``, ``M``/``ME``, ``Q``/``QE``, ``A``/``Y``/``YE``, ``AS``/``YS``), with an
optional multiple (``15min``, ``2h``) and weekly anchors (``W-MON``). Normalises to the
new spelling, infers a frequency from timestamps, and extends a time axis by H steps.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

_ALIASES = {
    "s": "s", "S": "s", "sec": "s",
    "min": "min", "T": "min",
    "h": "h", "H": "h",
    "D": "D", "d": "D",
    "B": "B",
    "W": "W",
    "MS": "MS", "ME": "ME", "M": "ME",
    "QS": "QS", "QE": "QE", "Q": "QE",
    "YS": "YS", "AS": "YS", "YE": "YE", "Y": "YE", "A": "YE",
}
_FIXED = {"s": timedelta(seconds=1), "min": timedelta(minutes=1), "h": timedelta(hours=1), "D": timedelta(days=1)}
_MONTHS = {"MS": 1, "ME": 1, "QS": 3, "QE": 3, "YS": 12, "YE": 12}
_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
_PATTERN = re.compile(r"^(\d*)([A-Za-z]+)(?:-([A-Za-z]{3}))?$")

#: Season length per base unit, used by families that need one (baseline models).
SEASON = {"s": 60, "min": 60, "h": 24, "D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "QS": 4, "QE": 4, "YS": 1, "YE": 1}


class FreqError(ValueError):
    """A frequency or timestamp could not be understood; the message says what was given."""


@dataclass(frozen=True)
class Freq:
    n: int
    unit: str
    anchor: str | None = None  # weekday for W

    @property
    def alias(self) -> str:
        base = self.unit + (f"-{self.anchor}" if self.anchor else "")
        return base if self.n == 1 else f"{self.n}{base}"

    @property
    def season_length(self) -> int:
        return SEASON[self.unit]


def parse_freq(raw: str) -> Freq:
    m = _PATTERN.match(raw.strip())
    if not m:
        raise FreqError(f"unknown frequency {raw!r}; expected a pandas alias such as 'h', '15min', 'D', 'W-MON', 'MS', 'ME'")
    count, unit, anchor = m.groups()
    norm = _ALIASES.get(unit)
    if norm is None:
        raise FreqError(f"unknown frequency {raw!r}; expected a pandas alias such as 'h', '15min', 'D', 'W-MON', 'MS', 'ME'")
    n = int(count) if count else 1
    if n < 1:
        raise FreqError(f"frequency {raw!r} needs a positive multiple")
    if anchor is not None:
        if norm != "W" or anchor.upper() not in _WEEKDAYS:
            raise FreqError(f"frequency {raw!r}: only weekly frequencies take an anchor (W-MON … W-SUN)")
        anchor = anchor.upper()
    elif norm == "W":
        anchor = "SUN"
    return Freq(n=n, unit=norm, anchor=anchor)


def parse_timestamp(raw: str) -> datetime:
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time())
        return datetime.fromisoformat(text)
    except ValueError:
        raise FreqError(f"unparseable timestamp {raw!r}; expected ISO 8601 such as '2024-01-31' or '2024-01-31T13:00:00'") from None


def _add_months(t: datetime, months: int, *, end: bool) -> datetime:
    total = t.month - 1 + months
    year, month = t.year + total // 12, total % 12 + 1
    last = calendar.monthrange(year, month)[1]
    day = last if end else min(t.day, last)
    return t.replace(year=year, month=month, day=day)


def _step(t: datetime, f: Freq, k: int) -> datetime:
    if f.unit in _FIXED:
        return t + _FIXED[f.unit] * (f.n * k)
    if f.unit == "W":
        return t + timedelta(weeks=f.n * k)
    if f.unit == "B":
        out, left = t, f.n * k
        while left:
            out += timedelta(days=1)
            if out.weekday() < 5:
                left -= 1
        return out
    months = _MONTHS[f.unit] * f.n * k
    return _add_months(t, months, end=f.unit.endswith("E"))


def future(last: datetime, f: Freq, horizon: int) -> list[datetime]:
    return [_step(last, f, k) for k in range(1, horizon + 1)]


def axis(start: datetime, f: Freq, length: int) -> list[datetime]:
    return [start, *future(start, f, length - 1)]


def infer(stamps: list[datetime]) -> Freq:
    """The regular frequency of ``stamps`` (at least 3); FreqError if there is none."""
    if len(stamps) < 3:
        raise FreqError(f"freq 'auto' needs at least 3 timestamps, got {len(stamps)}")
    midnight = all(t.hour == t.minute == t.second == t.microsecond == 0 for t in stamps)
    for n in ((1, 2, 3, 6) if midnight else ()):
        for unit in ("YS", "YE", "QS", "QE", "MS", "ME"):
            f = Freq(n, unit)
            if unit.endswith("S") and stamps[0].day != 1:
                continue
            if all(_step(a, f, 1) == b for a, b in pairwise(stamps)):
                return f
    deltas = {b - a for a, b in pairwise(stamps)}
    if len(deltas) == 1:
        (d,) = deltas
        secs = int(d.total_seconds())
        if secs > 0 and d.total_seconds() == secs:
            if secs % (7 * 86400) == 0:
                return Freq(n=secs // (7 * 86400), unit="W", anchor=_WEEKDAYS[stamps[0].weekday()])
            for unit, size in (("D", 86400), ("h", 3600), ("min", 60), ("s", 1)):
                if secs % size == 0:
                    return Freq(n=secs // size, unit=unit)
    if all(s.weekday() < 5 for s in stamps) and all(_step(a, Freq(1, "B"), 1) == b for a, b in pairwise(stamps)):
        return Freq(1, "B")
    raise FreqError("freq 'auto': the timestamps are not regularly spaced; give freq explicitly")


def fmt(t: datetime, like: str | None) -> str:
    """Format like the input did: date-only stays date-only where the time is midnight."""
    if like is not None and len(like.strip()) == 10 and t.hour == t.minute == t.second == 0 and t.microsecond == 0:
        return t.date().isoformat()
    if t.tzinfo is UTC and like is not None and like.strip().endswith("Z"):
        return t.replace(tzinfo=None).isoformat() + "Z"
    return t.isoformat()
