"""``POST /api/evaluate``'s request and response types (strict msgspec, like :mod:`tollama.schema`)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from tollama.schema import Horizon, KeepAlive, Level, Metric, Options, Scores, SeriesForecast, SeriesIn, Strict, Value

DEFAULT_EVALUATE_METRICS = ("MASE", "WQL", "SMAPE")


class EvaluateRequest(Strict, kw_only=True):
    models: Annotated[list[str], msgspec.Meta(min_length=1, max_length=32)]
    series: list[SeriesIn | list[Value]]
    """The full history of each series; the windows are cut from its end."""
    horizon: Horizon
    windows: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    step: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Points between window cutoffs (default: ``horizon``)."""
    metrics: list[Metric] | None = None
    """Default ``["MASE", "WQL", "SMAPE"]``; the first ranks the leaderboard."""
    quantiles: list[Level] | None = None
    freq: str | None = None
    options: Options = Options()
    keep_alive: KeepAlive = None
    stream: bool = False
    return_forecasts: bool = False


class LeaderboardRow(msgspec.Struct, kw_only=True):
    model: str
    rank: int
    metrics: Scores
    """Each metric: fev's per-window value over all series, averaged over windows."""
    win_rate: float | None
    """Share of (series, window) pairs won against each other model, ties half (fev's win rate)."""
    skill: float | None
    """1 − geometric mean of the error relative to seasonal-naive over (series, window) (fev's skill score)."""
    inference_ms: float
    warnings: list[str] = []


class SeriesResult(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: str
    cutoff: str | int
    """The last history timestamp before the window (an index where the series has no time axis)."""
    metrics: Scores
    forecast: SeriesForecast | None = None


class WindowResult(msgspec.Struct, kw_only=True):
    window: int
    metrics: Scores
    series: list[SeriesResult]


class ModelResult(msgspec.Struct, kw_only=True):
    model: str
    windows: list[WindowResult]
    warnings: list[str] = []


class EvaluateResponse(msgspec.Struct, kw_only=True):
    horizon: int
    windows: int
    step: int
    metrics: list[str]
    quantiles: list[float]
    leaderboard: list[LeaderboardRow]
    results: list[ModelResult]
    warnings: list[str]
    total_ms: float
    done: bool = True


class EvaluateEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    status: Literal["evaluating", "done", "error"]
    model: str | None = None
    window: int | None = None
    completed: int | None = None
    total: int | None = None
    response: EvaluateResponse | None = None
    """With ``status: "done"``. An error after the first line is the error line of every stream
    (``{"status": "error", "error", "code", ...}``, :func:`tollama.api.errors.error_line`)."""
