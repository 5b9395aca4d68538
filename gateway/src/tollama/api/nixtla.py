"""Nixtla's API (``/v2/*``, ``/model_params``) for the official ``nixtla`` client, on the one forecast path.

The client sends every series concatenated (``series.y`` with ``series.sizes``), exogenous features as
arrays over the same rows (``series.X``: the future features first, then the historical ones) and the
horizon's values of the future ones (``series.X_future``), prediction intervals as ``level`` (80 ->
quantiles 0.1 and 0.9). Each call becomes one :class:`~tollama.schema.ForecastRequest` served by the
:class:`~tollama.forecasting.Forecaster`: cross-validation and anomaly detection forecast every cut
history of every series in one request. Errors keep tollama's body (``error``, ``code``), which the
client's ``ApiError`` shows with the status. TimeGPT's fine-tuning is refused (422 ``unsupported``).
The mapping is documented in docs/interop.md.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from tollama.api.errors import decode, read_body
from tollama.api.openapi import FORECAST, MODEL, documented, query_param
from tollama.errors import InvalidValue, UnsupportedFeature
from tollama.forecasting import Forecaster
from tollama.models import Models
from tollama.schema import ForecastRequest, SeriesIn

_JSON = msgspec.json.Encoder()


class NixtlaSeries(msgspec.Struct, kw_only=True):
    y: list[float | None]
    sizes: list[int]
    X: list[list[Any]] | None = None
    X_future: list[list[Any]] | None = None
    start_datetime: list[str] | None = None
    categorical_exog: list[int] | None = None


class NixtlaRequest(msgspec.Struct, kw_only=True):
    """What the client's forecast, cross-validation and anomaly-detection calls send (unknown fields
    are ignored: the client adds options across versions that do not change the forecast)."""

    series: NixtlaSeries
    model: str
    h: int = 1
    freq: str | None = None
    level: list[float] | float | None = None
    finetune_steps: int = 0
    finetuned_model_id: str | None = None
    hist_exog: list[int] | None = None
    n_windows: int = 1
    step_size: int | None = None
    detection_size: int | None = None
    threshold_method: str = "univariate"
    multivariate: bool = False


Intervals = dict[str, list[float]]


class NixtlaForecast(msgspec.Struct, kw_only=True):
    """``/v2/forecast``: every series' mean, concatenated; ``lo-<level>``/``hi-<level>`` intervals."""

    mean: list[float | None]
    intervals: Intervals | None
    weights_x: None
    feature_contributions: None


class NixtlaCrossValidation(msgspec.Struct, kw_only=True):
    idxs: list[int]
    sizes: list[int]
    mean: list[float | None]
    intervals: Intervals | None


class NixtlaAnomalies(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``/v2/anomaly_detection`` (no ``idxs``) and ``/v2/online_anomaly_detection``."""

    sizes: list[int]
    mean: list[float | None]
    intervals: Intervals
    anomaly: list[bool]
    anomaly_score: list[float | None]
    weights_x: None
    idxs: list[int] | None = None


class ModelSize(msgspec.Struct, kw_only=True):
    input_size: int
    horizon: int


class ModelParams(msgspec.Struct, kw_only=True):
    detail: ModelSize


class ModelName(msgspec.Struct, kw_only=True):
    name: str


class ModelList(msgspec.Struct, kw_only=True):
    models: list[ModelName]


class Detail(msgspec.Struct, kw_only=True):
    detail: str


#: What a Nixtla call can answer besides its result.
_ERRORS = FORECAST


def _json(obj: Any, status: int = 200) -> Response[bytes]:
    return Response(_JSON.encode(obj), status_code=status, media_type="application/json")


async def _body(request: Request[Any, Any, Any]) -> bytes:
    body = await read_body(request)
    if request.headers.get("content-encoding", "").lower() == "zstd":
        import zstandard

        try:
            return zstandard.ZstdDecompressor().decompressobj().decompress(body)
        except zstandard.ZstdError as exc:
            raise InvalidValue(f"the body is not valid zstd ({exc})", path="$", value="zstd") from None
    return body


def _levels(level: list[float] | float | None) -> tuple[list[float], list[tuple[str, str, float]]]:
    """Quantile levels for ``level`` (80 -> 0.1, 0.9), and the client's interval keys per level."""
    given = [] if level is None else [level] if isinstance(level, (int, float)) else level
    keys: list[tuple[str, str, float]] = []
    quantiles = {0.5}
    for lv in given:
        if not 0 <= lv < 100:
            raise InvalidValue(f"$.level: levels lie in [0, 100); got {lv}", path="$.level", value=lv, limit="[0, 100)")
        if lv == 0:
            continue
        lo, hi = round((100 - lv) / 200, 6), round((100 + lv) / 200, 6)
        quantiles |= {lo, hi}
        keys.append((_fmt(lv), _key(lo), lv))
    return sorted(quantiles), keys


def _detection_levels(level: list[float] | float | None) -> tuple[list[float], list[tuple[str, str, float]]]:
    """:func:`_levels` for anomaly detection (default 99), which needs an interval: a level above 0."""
    quantiles, keys = _levels(level if level is not None else 99)
    if not keys:
        raise InvalidValue(f"$.level: anomaly detection needs a level in (0, 100); got {level}", path="$.level", value=level, limit="(0, 100)")
    return quantiles, keys


def _fmt(lv: float) -> str:
    return str(int(lv)) if float(lv).is_integer() else str(lv)


def _key(q: float) -> str:
    text = repr(round(q, 6))
    return text[:-2] if text.endswith(".0") else text


def _refuse_finetuning(req: NixtlaRequest) -> None:
    if req.finetune_steps or req.finetuned_model_id:
        field = "finetune_steps" if req.finetune_steps else "finetuned_model_id"
        raise UnsupportedFeature(f"$.{field}: tollama serves pretrained models and does not fine-tune (TimeGPT's finetune_* options)", path=f"$.{field}", model=req.model)
    if req.multivariate:
        raise UnsupportedFeature("$.multivariate: TimeGPT's multivariate mode has no tollama equivalent; send the series as a multivariate target to /api/forecast", path="$.multivariate", model=req.model)


class _Split:
    """The concatenated series split back: targets and feature rows per series."""

    def __init__(self, s: NixtlaSeries, h: int) -> None:
        if sum(s.sizes) != len(s.y):
            raise InvalidValue(f"$.series.sizes: sizes add up to {sum(s.sizes)}, but y has {len(s.y)} values", path="$.series.sizes", value=sum(s.sizes), limit=len(s.y))
        self.offsets = [0]
        for n in s.sizes:
            self.offsets.append(self.offsets[-1] + n)
        self.s, self.h = s, h
        self.n_future = len(s.X_future or [])

    def target(self, i: int) -> list[float | None]:
        return [None if v is None or math.isnan(v) else v for v in self.s.y[self.offsets[i]:self.offsets[i + 1]]]

    def series(self, i: int, *, end: int | None = None, future: bool = True, hist_only: list[int] | None = None) -> SeriesIn:
        """Series ``i`` (cut at ``end`` values); ``future``: the X_future columns as known-future covariates."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        stop = hi if end is None else lo + end
        past: dict[str, list[Any]] = {}
        ahead: dict[str, list[Any]] = {}
        historical = set(hist_only or [])
        for k, col in enumerate(self.s.X or []):
            name = f"x{k}"
            past[name] = col[lo:stop]
            if future and k < self.n_future:
                ahead[name] = (self.s.X_future or [])[k][i * self.h:(i + 1) * self.h]
            elif end is not None and k not in historical:
                ahead[name] = col[stop:stop + self.h]  # a cut history's future feature: its next values are known
        start = self.s.start_datetime[i] if self.s.start_datetime else None
        target: list[float | list[float | None] | None] = list(self.target(i)[:end] if end is not None else self.target(i))
        return SeriesIn(id=str(i), target=target, start=start, past_covariates=past, future_covariates=ahead)


def _request(req: NixtlaRequest, series: list[SeriesIn], h: int, quantiles: list[float]) -> ForecastRequest:
    freq = req.freq if req.series.start_datetime else None
    return ForecastRequest(model=req.model, series=list(series), horizon=h, quantiles=quantiles, freq=freq)


def _intervals(forecasts: list[Any], keys: list[tuple[str, str, float]], take: Any = None) -> dict[str, list[float]] | None:
    if not keys:
        return None
    out: dict[str, list[float]] = {}
    for name, lo_key, _ in keys:
        hi_key = _key(round(1 - float(lo_key), 6))
        out[f"lo-{name}"] = [v for f in forecasts for v in (take(f, f.quantiles[lo_key]) if take else f.quantiles[lo_key])]
        out[f"hi-{name}"] = [v for f in forecasts for v in (take(f, f.quantiles[hi_key]) if take else f.quantiles[hi_key])]
    return out


@post("/v2/forecast", status_code=200, operation_class=documented(body=NixtlaRequest, ok=NixtlaForecast, errors=_ERRORS))
async def forecast(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    req = decode(await _body(request), NixtlaRequest)
    _refuse_finetuning(req)
    split = _Split(req.series, req.h)
    quantiles, keys = _levels(req.level)
    resp = await forecaster.forecast(_request(req, [split.series(i) for i in range(len(req.series.sizes))], req.h, quantiles))
    mean = [v for f in resp.forecasts for v in f.mean]
    return _json(NixtlaForecast(mean=mean, intervals=_intervals(resp.forecasts, keys), weights_x=None, feature_contributions=None))


def _windows(split: _Split, i: int, h: int, n_windows: int, step: int) -> list[int]:
    """Cut points (history lengths) of series ``i``'s backtest windows, earliest first."""
    n = split.s.sizes[i]
    cuts = [n - h - step * (n_windows - 1 - w) for w in range(n_windows)]
    if cuts[0] < 1:
        raise InvalidValue(f"$.series.sizes[{i}]: {n} values are too few for {n_windows} windows of {h} steps every {step}", path=f"$.series.sizes[{i}]", value=n, limit=h + step * (n_windows - 1) + 1)
    return cuts


async def _backtest(forecaster: Forecaster, req: NixtlaRequest, h: int, cuts: list[list[int]], quantiles: list[float]) -> tuple[list[Any], list[int], list[int]]:
    """Forecast every cut history (one request); returns the window forecasts, idxs and sizes."""
    split = _Split(req.series, h)
    series = [split.series(i, end=c, future=False, hist_only=req.hist_exog) for i, row in enumerate(cuts) for c in row]
    for k, s in enumerate(series):
        s.id = str(k)
    resp = await forecaster.forecast(_request(req, series, h, quantiles)) if series else None
    idxs = [split.offsets[i] + c + j for i, row in enumerate(cuts) for c in row for j in range(h)]
    sizes = [len(row) * h for row in cuts]
    return (resp.forecasts if resp else []), idxs, sizes


@post("/v2/cross_validation", status_code=200, operation_class=documented(body=NixtlaRequest, ok=NixtlaCrossValidation, errors=_ERRORS))
async def cross_validation(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    req = decode(await _body(request), NixtlaRequest)
    _refuse_finetuning(req)
    step = req.step_size or req.h
    split = _Split(req.series, req.h)
    cuts = [_windows(split, i, req.h, req.n_windows, step) for i in range(len(req.series.sizes))]
    quantiles, keys = _levels(req.level)
    forecasts, idxs, sizes = await _backtest(forecaster, req, req.h, cuts, quantiles)
    mean = [v for f in forecasts for v in f.mean]
    return _json(NixtlaCrossValidation(idxs=idxs, sizes=sizes, mean=mean, intervals=_intervals(forecasts, keys)))


def _anomalies(req: NixtlaRequest, forecasts: list[Any], idxs: list[int], keys: list[tuple[str, str, float]], sizes: list[int],
               *, with_idxs: bool) -> NixtlaAnomalies:
    mean = [v for f in forecasts for v in f.mean]
    intervals = _intervals(forecasts, keys) or {}
    name, _, lv = keys[0]
    lo, hi = intervals[f"lo-{name}"], intervals[f"hi-{name}"]
    z = NormalDist().inv_cdf(0.5 + lv / 200)
    actual = [req.series.y[i] for i in idxs]
    anomaly = [y is not None and not lo[k] <= y <= hi[k] for k, y in enumerate(actual)]
    score = [0.0 if y is None or hi[k] == lo[k] else (y - mean[k]) / ((hi[k] - lo[k]) / (2 * z)) for k, y in enumerate(actual)]
    return NixtlaAnomalies(sizes=sizes, mean=mean, intervals=intervals, anomaly=anomaly, anomaly_score=list(score), weights_x=None,
                           idxs=idxs if with_idxs else None)


@post("/v2/anomaly_detection", status_code=200, operation_class=documented(body=NixtlaRequest, ok=NixtlaAnomalies, errors=_ERRORS))
async def anomaly_detection(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster], models: NamedDependency[Models]) -> Response[bytes]:
    """Historical anomalies: in-sample windows of ``w`` steps over the last quarter or so of each series."""
    req = decode(await _body(request), NixtlaRequest)
    _refuse_finetuning(req)
    caps = models.resolve(req.model).entry.capabilities
    shortest = min(req.series.sizes) if req.series.sizes else 0
    w = max(1, min(caps.max_horizon, shortest // 5))
    cuts = [[n - w * (k + 1) for k in reversed(range(min(4, (n - caps.min_context) // w)))] for n in req.series.sizes]
    quantiles, keys = _detection_levels(req.level)
    forecasts, idxs, sizes = await _backtest(forecaster, req, w, cuts, quantiles)
    # The client takes each series' last `sizes[i]` rows: the windows end at the series' end.
    return _json(_anomalies(req, forecasts, idxs, keys, sizes, with_idxs=False))


@post("/v2/online_anomaly_detection", status_code=200, operation_class=documented(body=NixtlaRequest, ok=NixtlaAnomalies, errors=_ERRORS))
async def online_anomaly_detection(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    """The last ``detection_size`` points of each series, forecast in windows of ``h`` every ``step_size``."""
    req = decode(await _body(request), NixtlaRequest)
    _refuse_finetuning(req)
    if req.threshold_method != "univariate":
        raise UnsupportedFeature(f"$.threshold_method: {req.threshold_method!r} is not available; use 'univariate'", path="$.threshold_method", model=req.model)
    size = req.detection_size or req.h
    step = req.step_size or req.h
    if step != req.h:
        raise UnsupportedFeature(f"$.step_size: windows must not overlap (step_size {step} must equal h {req.h})", path="$.step_size", model=req.model)
    if size % req.h:
        raise InvalidValue(f"$.detection_size: {size} must be a multiple of h ({req.h})", path="$.detection_size", value=size, limit=f"k * {req.h}")
    cuts = [[n - size + k * req.h for k in range(size // req.h)] for n in req.series.sizes]
    for i, row in enumerate(cuts):
        if row[0] < 1:
            raise InvalidValue(f"$.series.sizes[{i}]: {req.series.sizes[i]} values are too few for a detection size of {size}", path=f"$.series.sizes[{i}]", value=req.series.sizes[i], limit=size + 1)
    quantiles, keys = _detection_levels(req.level)
    forecasts, idxs, sizes = await _backtest(forecaster, req, req.h, cuts, quantiles)
    return _json(_anomalies(req, forecasts, idxs, keys, sizes, with_idxs=True))


@get("/model_params", sync_to_thread=False, operation_class=documented(ok=ModelParams, errors=("invalid_value", *MODEL), query=[query_param("model", "the model", required=True)]))
def model_params(request: Request[Any, Any, Any], models: NamedDependency[Models]) -> Response[bytes]:
    model = request.query_params.get("model")
    if not model:
        raise InvalidValue("$.query.model: the model is required (?model=NAME)", path="$.query.model", limit="a model name")
    caps = models.resolve(model).entry.capabilities
    return _json(ModelParams(detail=ModelSize(input_size=caps.max_context, horizon=caps.max_horizon)))


@get("/v2/models", sync_to_thread=False, operation_class=documented(ok=ModelList))
def list_models(models: NamedDependency[Models]) -> Response[bytes]:
    names = sorted({name for m in models.tags().models for name in (m.name, m.name.removesuffix(":latest"))})
    return _json(ModelList(models=[ModelName(name=n) for n in names]))


@get("/validate_api_key", sync_to_thread=False, operation_class=documented(ok=Detail))
def validate_api_key() -> Response[bytes]:
    return _json(Detail(detail="tollama takes any API key"))


@post("/v2/finetune", status_code=200, operation_class=documented(errors=("unsupported",)))
async def finetune(request: Request[Any, Any, Any]) -> Response[bytes]:
    raise UnsupportedFeature("tollama serves pretrained models and does not fine-tune (TimeGPT's finetune); forecast with `model=` naming an installed model", path="$")


ROUTES = [forecast, cross_validation, anomaly_detection, online_anomaly_detection, model_params, list_models, validate_api_key, finetune]
