"""KServe's time-series protocol (kserve 0.21): ``POST /v1/timeseries/forecast``, ``GET /v1/timeseries/models``.

A request (``model``, ``inputs[]`` of ``type``, ``name``, ``series``, ``frequency``, ``start_timestamp``;
``options.horizon``, ``options.quantiles``) becomes one :class:`~tollama.schema.ForecastRequest`; the
answer is KServe's ``ForecastResponse``: one output whose ``content`` holds one ``TimeSeriesForecast``
per input (``mean_forecast``, ``quantiles`` keyed by level, ``start_timestamp`` of the first forecast
step). A multivariate series is one list per variate. Errors are KServe's ``ErrorResponse``
(``{"error": {"code": "<HTTP status>", "message", "param", "type"}}``, ``type`` = tollama's code).
A test validates these answers with KServe's own pydantic types.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from tollama.api.errors import decode, read_body
from tollama.api.openapi import FORECAST, documented
from tollama.errors import TollamaError, status_of
from tollama.forecasting import Forecaster
from tollama.models import Models
from tollama.schema import ForecastRequest, Level, SeriesIn, Value

_JSON = msgspec.json.Encoder()
FREQUENCY = {
    "second": "s", "S": "s", "minute": "min", "T": "min", "hour": "h", "H": "h", "day": "D", "D": "D",
    "week": "W", "W": "W", "month": "MS", "M": "MS", "quarter": "QS", "Q": "QS", "year": "YS", "Y": "YS",
}
Frequency = Literal["second", "S", "minute", "T", "hour", "H", "day", "D", "week", "W", "month", "M", "quarter", "Q", "year", "Y"]


class TimeSeriesInput(msgspec.Struct, kw_only=True):
    type: Literal["univariate_time_series", "multivariate_time_series"]
    name: str
    series: list[Value | list[Value]]
    frequency: Frequency
    start_timestamp: str | None = None


class ForecastOptions(msgspec.Struct, kw_only=True):
    horizon: int
    quantiles: list[Level] | None = None


class KServeRequest(msgspec.Struct, kw_only=True):
    model: str
    inputs: list[TimeSeriesInput]
    options: ForecastOptions
    metadata: dict[str, Any] | None = None


class TimeSeriesForecast(msgspec.Struct, kw_only=True):
    type: str
    name: str
    mean_forecast: list[float | None]
    frequency: str
    start_timestamp: str
    quantiles: dict[str, list[float | None]]


class ForecastOutput(msgspec.Struct, kw_only=True):
    type: Literal["forecast"]
    id: str
    status: Literal["completed"]
    content: list[TimeSeriesForecast]


class KServeResponse(msgspec.Struct, kw_only=True):
    """KServe's ``ForecastResponse``."""

    id: str
    created_at: int
    status: Literal["completed"]
    model: str
    outputs: list[ForecastOutput]


class KServeErrorDetail(msgspec.Struct, kw_only=True):
    code: str
    """The HTTP status, as a string."""
    message: str
    param: str
    type: str
    """tollama's error code."""


class KServeError(msgspec.Struct, kw_only=True):
    """KServe's ``ErrorResponse``."""

    error: KServeErrorDetail


def to_request(body: KServeRequest) -> ForecastRequest:
    freqs = {FREQUENCY[i.frequency] for i in body.inputs}
    series: list[SeriesIn | list[Value]] = [SeriesIn(id=i.name, target=list(i.series), start=i.start_timestamp) for i in body.inputs]
    freq = freqs.pop() if len(freqs) == 1 else None
    return ForecastRequest(model=body.model, series=series, horizon=body.options.horizon, quantiles=body.options.quantiles, freq=freq)


def to_response(resp: Any, body: KServeRequest) -> KServeResponse:
    content = [
        TimeSeriesForecast(type=i.type, name=i.name, mean_forecast=f.mean, frequency=i.frequency,
                           start_timestamp=f.timestamps[0] if f.timestamps else "", quantiles=f.quantiles)
        for i, f in zip(body.inputs, resp.forecasts, strict=True)
    ]
    output = ForecastOutput(type="forecast", id=str(uuid.uuid4()), status="completed", content=content)
    return KServeResponse(id=str(uuid.uuid4()), created_at=int(time.time()), status="completed", model=resp.model, outputs=[output])


def error_body(exc: TollamaError) -> KServeError:
    return KServeError(error=KServeErrorDetail(code=str(status_of(exc)), message=exc.message, param=str(exc.details.get("path", "")), type=exc.code))


@post("/v1/timeseries/forecast", status_code=200, operation_class=documented(body=KServeRequest, ok=KServeResponse, errors=FORECAST, error_type=KServeError))
async def forecast(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    try:
        body = decode(await read_body(request), KServeRequest)
        resp = await forecaster.forecast(to_request(body))
    except TollamaError as exc:
        return Response(_JSON.encode(error_body(exc)), status_code=status_of(exc), media_type="application/json")
    return Response(_JSON.encode(to_response(resp, body)), status_code=200, media_type="application/json")


@get("/v1/timeseries/models", sync_to_thread=False, operation_class=documented(ok_media={"application/json": {"type": "array", "items": {"type": "string"}}}))
def models(models: NamedDependency[Models]) -> Response[bytes]:
    return Response(_JSON.encode(sorted(m.name for m in models.tags().models)), status_code=200, media_type="application/json")


ROUTES = [forecast, models]
