"""Rolling-origin windows: cut each series into (history, actuals) pairs that end at its end.

Window ``k`` of ``W`` has its cutoff (the number of history points) at
``len - horizon - (W - 1 - k) * step``, as Nixtla's ``cross_validation`` and fev place them; a
window whose cutoff leaves no history is not given by that series. Every cut is an independent
series to the model (id ``"<id>@<k>"``), so all windows of all series travel in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tollama import timeaxis
from tollama.errors import NotEnoughHistory
from tollama.schema import SeriesIn, Value


@dataclass(frozen=True)
class Cut:
    series: int
    """Index of the series in the request."""
    id: str
    window: int
    cutoff: int
    """History points before the window."""
    cutoff_label: str | int
    """The last history timestamp where the series has a time axis, else ``cutoff``."""
    history: SeriesIn
    """The series up to the cutoff (covariates cut alike), ready to forecast."""
    actuals: list[list[Value]]
    """One list per variate, ``horizon`` values after the cutoff."""


def as_series(raw: SeriesIn | list[Value]) -> SeriesIn:
    return raw if isinstance(raw, SeriesIn) else SeriesIn(target=raw)  # type: ignore[arg-type]


def variates(s: SeriesIn) -> list[list[Value]]:
    return s.target if s.target and isinstance(s.target[0], list) else [s.target]  # type: ignore[list-item,return-value]


def length(s: SeriesIn) -> int:
    return len(variates(s)[0]) if s.target else 0


def windows_given(n: int, horizon: int, step: int) -> int:
    """How many windows a series of ``n`` points gives (each keeps at least one history point)."""
    return 0 if n - horizon < 1 else (n - horizon - 1) // step + 1


def _label(s: SeriesIn, cutoff: int, freq: str | None) -> str | int:
    if s.timestamps is not None and len(s.timestamps) >= cutoff:
        return s.timestamps[cutoff - 1]
    raw = s.freq or freq
    if s.start is not None and raw not in (None, "auto"):
        try:
            first = timeaxis.parse_timestamp(s.start)
            return timeaxis.fmt(timeaxis.axis(first, timeaxis.parse_freq(raw), cutoff)[-1], s.start)
        except timeaxis.FreqError:
            return cutoff  # validation of the forecast names the bad value
    return cutoff


def _cut_series(s: SeriesIn, cutoff: int, horizon: int) -> SeriesIn:
    rows = variates(s)
    nested = bool(s.target) and isinstance(s.target[0], list)
    target: Any = [r[:cutoff] for r in rows] if nested else rows[0][:cutoff]
    return SeriesIn(
        id=s.id, target=target, timestamps=s.timestamps[:cutoff] if s.timestamps is not None else None, start=s.start,
        past_covariates={k: v[:cutoff] for k, v in s.past_covariates.items()},
        future_covariates={k: v[:cutoff + horizon] for k, v in s.future_covariates.items()},
        static_covariates=s.static_covariates, freq=s.freq,
    )


def cuts(series: list[SeriesIn | list[Value]], horizon: int, windows: int, step: int, freq: str | None, *, path: str = "$.windows") -> tuple[list[Cut], list[str]]:
    """Every window of every series (series by series, windows in order), and warnings for windows not given."""
    out: list[Cut] = []
    warnings: list[str] = []
    given = []
    for i, raw in enumerate(series):
        s = as_series(raw)
        n = length(s)
        given.append(windows_given(n, horizon, step))
        sid = s.id if s.id is not None else str(i)
        rows = variates(s)
        for k in range(windows):
            cutoff = n - horizon - (windows - 1 - k) * step
            if cutoff < 1:
                continue
            out.append(Cut(series=i, id=sid, window=k, cutoff=cutoff, cutoff_label=_label(s, cutoff, freq),
                           history=_cut_series(s, cutoff, horizon), actuals=[r[cutoff:cutoff + horizon] for r in rows]))
        if given[-1] < windows and given[-1] > 0:
            warnings.append(f"$.series[{i}]: {n} points give {given[-1]} of the {windows} windows (horizon {horizon}, step {step}); the first {windows - given[-1]} were skipped")
    best = max(given, default=0)
    if best < windows:
        longest = max((length(as_series(r)) for r in series), default=0)
        raise NotEnoughHistory(
            f"{path}: {windows} windows of horizon {horizon} every {step} points need at least "
            f"{horizon + (windows - 1) * step + 1} points in some series; the longest has {longest}, which gives {best}",
            path=path, value=windows, limit=best,
        )
    for i, g in enumerate(given):
        if g == 0:
            warnings.append(f"$.series[{i}]: {length(as_series(series[i]))} points are too few for a window of horizon {horizon}; skipped")
    return out, warnings
