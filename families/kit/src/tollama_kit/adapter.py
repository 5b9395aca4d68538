"""The ``Adapter`` protocol a family implements, and the numpy-level types it sees.

A family folder holds one adapter: the thin layer between its upstream library and
this kit. The kit decodes the wire batch into :class:`SeriesInput` objects, calls
``Adapter.forecast`` (in a worker thread, one forward pass at a time) and encodes the
:class:`SeriesOutput` objects it returns. Adapters raise :class:`~tollama_kit.errors.KitError`
subclasses for failures the gateway should see with a code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

Options = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class SeriesInput:
    """One series, already validated by the gateway.

    ``target`` is float32 with shape ``(n_targets, length)``; NaN marks a missing value.
    Numeric covariates are float32 arrays; categorical ones are object arrays of str.
    ``past_covariates`` have ``length`` values, ``future_covariates`` ``length + horizon``.
    """

    id: str
    target: np.ndarray
    past_covariates: dict[str, np.ndarray] = field(default_factory=dict)
    future_covariates: dict[str, np.ndarray] = field(default_factory=dict)
    static_covariates: dict[str, float | str] = field(default_factory=dict)
    freq: str | None = None
    """This series' own frequency; ``None``: the batch's (``ForecastInput.freq``)."""

    @property
    def n_targets(self) -> int:
        return int(self.target.shape[0])

    @property
    def length(self) -> int:
        return int(self.target.shape[1])


@dataclass(frozen=True)
class ForecastInput:
    """A batch of series for one model with one horizon, quantile grid and option set."""

    horizon: int
    quantiles: tuple[float, ...]
    series: list[SeriesInput]
    freq: str | None = None
    options: Options = field(default_factory=dict)
    groups: tuple[int, ...] = ()
    """The request each series came from when the worker fused several requests into one call
    (empty or all zeros when not fused). Adapters that learn across series (covariate regressions,
    cross-learning) must stay within a group so that one client's data never shapes another's."""

    def group_of(self, index: int) -> int:
        return self.groups[index] if self.groups else 0


@dataclass(frozen=True)
class SeriesOutput:
    """``mean`` has shape ``(n_targets, horizon)``; ``quantiles`` ``(n_levels, n_targets, horizon)``
    in the order of ``ForecastInput.quantiles``."""

    id: str
    mean: np.ndarray
    quantiles: np.ndarray
    warnings: list[str] = field(default_factory=list)
    """Warnings about this series only: they reach just the request that sent it."""


@dataclass
class ForecastOutput:
    series: list[SeriesOutput]
    warnings: list[str] = field(default_factory=list)


@dataclass
class Loaded:
    """What an adapter returns from ``load``: its own handle plus what the worker reports."""

    handle: Any
    device: str
    memory_bytes: int = 0


class Adapter(Protocol):
    """What a family implements. All methods are called from one worker thread."""

    family: str

    def describe(self) -> dict[str, str]:
        """Library versions worth reporting in ``/v1/info`` (e.g. ``{"chronos-forecasting": "2.3.2"}``)."""
        ...

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        """Load the checkpoint in directory ``path`` through the library's public loader."""
        ...

    def unload(self, loaded: Loaded) -> None:
        """Release what ``load`` took (the worker also empties the CUDA cache)."""
        ...

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        """Forecast every series of ``batch``; return them in the same order."""
        ...
