"""The public API's request and response types (strict msgspec: unknown fields are errors).

Constraints live in the types; cross-field rules live in :mod:`tollama.validation`,
which turns a :class:`ForecastRequest` into a :class:`~tollama.validation.ValidatedForecast`
against the model's capabilities before any worker is involved.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

_MAX = 1.7976931348623157e308
#: A JSON number that is finite (1e400 decodes to inf, which this refuses; NaN/Infinity literals are not JSON).
Finite = Annotated[float, msgspec.Meta(ge=-_MAX, le=_MAX)]
Value = Finite | None
Level = Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)]
Horizon = Annotated[int, msgspec.Meta(ge=1)]
KeepAlive = int | float | str | None

DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


class Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class StrictFrozen(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True, frozen=True):
    pass


class Options(StrictFrozen, kw_only=True, frozen=True):
    """Per-request options. Families honour what applies to them (docs/families/*.md)."""

    context_length: Annotated[int, msgspec.Meta(ge=1)] | None = None
    covariates_mode: Literal["strict", "best_effort"] | None = None
    num_samples: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    seed: Annotated[int, msgspec.Meta(ge=0)] | None = None
    device: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] | None = None
    scaling: Literal["standard", "minmax", "none"] | None = None
    patch_size: int | str | None = None
    season_length: Annotated[int, msgspec.Meta(ge=1)] | None = None
    seasonality: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """The seasonal period of the scaled metrics (MASE, RMSSE, SQL, MSIS); default: the frequency's (GluonTS)."""
    candidates: tuple[str, ...] | None = None
    """``model: "auto"``: the models to choose among (default: the installed models that fit)."""
    selection_windows: Annotated[int, msgspec.Meta(ge=1, le=20)] | None = None
    """``model: "auto"``: backtest windows per series for the choice (default 1)."""
    selection_metric: str | None = None
    """``model: "auto"``: the metric that chooses (default MASE)."""


#: Options the gateway consumes itself; they never reach a worker.
GATEWAY_OPTIONS = frozenset({"seasonality", "candidates", "selection_windows", "selection_metric"})
Metric = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Scores = dict[str, float | None]


class SeriesIn(Strict, kw_only=True):
    id: str | None = None
    target: list[Value | list[Value]]
    """Numbers (``null`` = missing), or one list per target variate for a multivariate series."""
    timestamps: list[str] | None = None
    start: str | None = None
    past_covariates: dict[str, list[Finite | str | None]] = {}
    """Known only up to now: one value per target step."""
    future_covariates: dict[str, list[Finite | str | None]] = {}
    """Known for the horizon too: one value per target step, then one per forecast step."""
    static_covariates: dict[str, Finite | str] = {}
    freq: str | None = None
    """This series' frequency (same aliases as the request's ``freq``, which is the default)."""
    actuals: list[Value | list[Value]] | None = None
    """Observed values after the history (up to ``horizon``; ``null`` = unknown): the answer gets metrics."""


class ForecastRequest(Strict, kw_only=True):
    model: str
    series: list[SeriesIn | list[Value]]
    horizon: Horizon | None = None
    quantiles: list[Level] | None = None
    freq: str | None = None
    options: Options = Options()
    keep_alive: KeepAlive = None
    stream: bool = False
    metrics: list[Metric] | None = None
    """Metrics over ``series[].actuals`` (default ``["MASE", "WQL"]`` when any series has actuals)."""


class SeriesForecast(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: str
    mean: list[Any]
    """One number per step; for a multivariate series, one such list per variate."""
    quantiles: dict[str, list[Any]]
    """Keyed by level (``"0.1"``), shaped like ``mean``."""
    timestamps: list[str] | None = None
    metrics: Scores | None = None
    """This series' metrics against its ``actuals``."""
    model: str | None = None
    """``model: "auto"``: the model that served this series."""
    scores: Scores | None = None
    """``model: "auto"``: each candidate's backtest score (the selection metric)."""
    members: list[str] | None = None
    """An ensemble: the member models whose forecasts were combined."""


class ForecastResponse(msgspec.Struct, omit_defaults=True, kw_only=True):
    model: str
    digest: str
    family: str
    device: str
    horizon: int
    quantiles: list[float]
    forecasts: list[SeriesForecast]
    warnings: list[str]
    load_ms: float
    queue_ms: float
    inference_ms: float
    total_ms: float
    created_at: str
    done: bool
    cached: bool
    """Served from the result cache (no worker call; ``inference_ms`` is the one measured when it was made)."""
    metrics: Scores | None = None
    """All series with actuals together, as fev aggregates one window."""


class ValidateResponse(msgspec.Struct, kw_only=True):
    valid: bool
    model: str
    family: str
    horizon: int
    quantiles: list[float]
    series: int
    warnings: list[str]


class StreamEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    status: Literal["queued", "loading", "running", "done", "error"]
    model: str | None = None
    detail: str | None = None
    response: ForecastResponse | None = None
    error: str | None = None
    code: str | None = None


# -- model management (Ollama's shapes) ----------------------------------------------------


class NameRequest(Strict, kw_only=True):
    model: str | None = None
    name: str | None = None  # older Ollama clients send `name`

    def ref(self) -> str:
        return self.model or self.name or ""


class ShowRequest(NameRequest, kw_only=True):
    verbose: bool = False


class PullRequest(NameRequest, kw_only=True):
    stream: bool = True
    insecure: bool = False
    accept_license: bool = False
    username: str | None = None
    password: str | None = None


class CreateRequest(Strict, kw_only=True):
    """Ollama's create: a TSModelfile as text, or its parts (``from`` + ``parameters``)."""

    model: str | None = None
    name: str | None = None
    modelfile: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    parameters: dict[str, Any] = {}
    license: str | list[str] | None = None
    stream: bool = True
    quantize: str | None = None

    def ref(self) -> str:
        return self.model or self.name or ""


class CopyRequest(Strict, kw_only=True):
    source: str
    destination: str


class StopRequest(NameRequest, kw_only=True):
    pass


class Details(msgspec.Struct, kw_only=True):
    format: str = "unknown"
    family: str
    families: list[str]
    parameter_size: str
    quantization_level: str = ""
    parent_model: str = ""


class TagModel(msgspec.Struct, kw_only=True):
    name: str
    model: str
    modified_at: str
    size: int
    digest: str
    details: Details


class Tags(msgspec.Struct):
    models: list[TagModel]


class PsModel(msgspec.Struct, kw_only=True):
    name: str
    model: str
    size: int
    digest: str
    details: Details
    expires_at: str
    size_vram: int
    family: str
    device: str
    in_use: int


class PsReplica(msgspec.Struct, kw_only=True):
    url: str
    healthy: bool
    outstanding: int
    """Calls sent to it and not yet answered."""
    served: int
    ejections: int
    """Times it was taken out (failed a health check or was unreachable)."""
    loaded: int
    """Models it holds (a replica loads a model on its first call for it)."""
    reason: str
    """``ok``, or why it is out."""


class Ps(msgspec.Struct):
    models: list[PsModel]
    failing: dict[str, str] = {}
    """Families not restarted after repeated crashes, with the reason and their last log lines."""
    replicas: dict[str, list[PsReplica]] = {}
    """Static runtime: each running family's replicas and their state."""


class ShowResponse(msgspec.Struct, kw_only=True):
    license: str
    modelfile: str
    parameters: str
    template: str
    details: Details
    model_info: dict[str, Any]
    capabilities: list[str]
    modified_at: str


JSON = msgspec.json.Encoder()
