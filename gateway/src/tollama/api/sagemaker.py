"""The SageMaker/Chronos JSON shape at ``POST /invocations`` (and the container's ``GET /ping``).

Code written for AWS's Chronos endpoints can point at tollama: ``{"inputs": [{"target", "past_covariates",
"future_covariates", "start", "item_id"}], "parameters": {"prediction_length", "quantile_levels",
"freq"}}`` becomes one :class:`~tollama.schema.ForecastRequest` (a covariate in ``past_covariates``
with T values and ``future_covariates`` with H values is one known-future covariate), and the answer
is ``{"predictions": [{"mean", "0.1", …, "item_id", "start"}]}``. An endpoint serves one model; here
``parameters.model`` (or ``?model=``) names it, else the newest pulled model, else ``auto-ets``.
Errors keep tollama's body and status.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from tollama.api.errors import decode, read_body
from tollama.api.openapi import FORECAST, documented, query_param
from tollama.forecasting import Forecaster
from tollama.models import Models
from tollama.schema import Finite, ForecastRequest, Level, SeriesIn, Value

_JSON = msgspec.json.Encoder()


class Invocation(msgspec.Struct, kw_only=True):
    target: list[Value | list[Value]]
    item_id: str | None = None
    start: str | None = None
    past_covariates: dict[str, list[Finite | str | None]] = {}
    future_covariates: dict[str, list[Finite | str | None]] = {}


class Parameters(msgspec.Struct, kw_only=True, frozen=True):
    """AWS's parameters; the ones that only tune the service (``batch_size``, …) are accepted and ignored."""

    prediction_length: int = 1
    quantile_levels: list[Level] | None = None
    freq: str | None = None
    model: str | None = None


class InvocationsRequest(msgspec.Struct, kw_only=True):
    inputs: list[Invocation]
    parameters: Parameters = Parameters()


class Predictions(msgspec.Struct, kw_only=True):
    """Per input: ``mean``, one list per quantile level (``"0.1"``, …), ``item_id`` and ``start`` when known."""

    predictions: list[dict[str, Any]]


def default_model(models: Models) -> str:
    pulled = [m for m in models.tags().models if m.details.family != "baseline"]
    return max(pulled, key=lambda m: m.modified_at).name if pulled else "auto-ets"


def to_request(body: InvocationsRequest, model: str) -> ForecastRequest:
    p = body.parameters
    series = [
        SeriesIn(id=s.item_id if s.item_id is not None else str(i), target=s.target, start=s.start,
                 past_covariates=s.past_covariates, future_covariates=s.future_covariates)
        for i, s in enumerate(body.inputs)
    ]
    return ForecastRequest(model=model, series=list(series), horizon=p.prediction_length, quantiles=p.quantile_levels, freq=p.freq)


def to_predictions(resp: Any, body: InvocationsRequest) -> Predictions:
    out = []
    for s, f in zip(body.inputs, resp.forecasts, strict=True):
        row: dict[str, Any] = {"mean": f.mean, **f.quantiles}
        if s.item_id is not None:
            row["item_id"] = s.item_id
        if f.timestamps:
            row["start"] = f.timestamps[0]
        out.append(row)
    return Predictions(predictions=out)


@post("/invocations", status_code=200, operation_class=documented(
    body=InvocationsRequest, ok=Predictions, errors=FORECAST, query=[query_param("model", "the model, unless `parameters.model` names one")],
))
async def invocations(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster], models: NamedDependency[Models]) -> Response[bytes]:
    body = decode(await read_body(request), InvocationsRequest)
    model = body.parameters.model or request.query_params.get("model") or default_model(models)
    resp = await forecaster.forecast(to_request(body, model))
    return Response(_JSON.encode(to_predictions(resp, body)), status_code=200, media_type="application/json")


@get("/ping", sync_to_thread=False, operation_class=documented(ok_media={"application/json": {"type": "object"}}))
def ping() -> Response[bytes]:
    return Response(b"{}", status_code=200, media_type="application/json")


ROUTES = [invocations, ping]
