"""The long-format door of ``POST /api/forecast`` and ``POST /api/evaluate``: CSV, Parquet and Arrow bodies, table answers.

A body of ``text/csv``, ``application/vnd.apache.parquet`` or ``application/vnd.apache.arrow.stream``
is the data table; the request's other fields come from the query string (``?model=auto-ets&horizon=12
&quantiles=0.1,0.5,0.9``; options by name or as ``options.<name>``; ``id_col``, ``time_col``,
``target_col`` name the columns). A ``multipart/form-data`` body carries a JSON ``request`` part, a
``data`` part and an optional ``future`` part (the horizon's known covariates). The answer follows
``Accept``: JSON (the native response), or the same three table types. The table work is
:mod:`tollama.tables`, imported on the first such request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response

from tollama.api.errors import read_body
from tollama.errors import InvalidRequest, InvalidValue, UnsupportedMediaType
from tollama.schema import ForecastRequest, Options, SeriesIn

if TYPE_CHECKING:
    from tollama.tables import Format

#: Media type -> table format (a few common spellings of Parquet too).
MEDIA: dict[str, Format] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
    "application/vnd.apache.arrow.stream": "arrow",
}
OUT_MEDIA: dict[str, str] = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "arrow": "application/vnd.apache.arrow.stream"}
_EXT: dict[str, Format] = {"csv": "csv", "parquet": "parquet", "pq": "parquet", "arrow": "arrow", "arrows": "arrow", "feather": "arrow"}
_COLUMNS = ("id_col", "time_col", "target_col")
_LISTS = {"quantiles"}


def media(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def is_table_body(content_type: str) -> bool:
    kind = media(content_type)
    return kind in MEDIA or kind == "multipart/form-data"


def answer_format(accept: str) -> Format | None:
    """The first table type ``Accept`` names before any JSON type; ``None`` = answer JSON."""
    for part in accept.split(","):
        kind = media(part)
        if kind in MEDIA:
            return MEDIA[kind]
        if kind in ("application/json", "*/*", "application/*", "application/x-ndjson"):
            return None
    return None


def wants_table(accept: str) -> bool:
    return answer_format(accept) is not None


def request_fields(query: dict[str, str], base: dict[str, Any] | None = None) -> tuple[ForecastRequest, dict[str, str]]:
    """The forecast request's fields from the query string over ``base`` (a multipart ``request``
    part; its fields win). Returns the request (``series`` empty) and the column names asked for."""
    fields: dict[str, Any] = {}
    options: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for key, raw in query.items():
        name = key.removeprefix("options.")
        if key in _COLUMNS:
            columns[key] = raw
        elif key.startswith("options.") or (name in Options.__struct_fields__ and name not in ForecastRequest.__struct_fields__):
            options[name] = raw
        elif key in ("series", "stream"):
            raise InvalidValue(f"$.query.{key}: not a query parameter of a table body", path=f"$.query.{key}", value=raw)
        else:
            fields[key] = [v for v in raw.split(",") if v.strip()] if key in _LISTS else raw
    merged: dict[str, Any] = {**fields, "options": options, **(base or {})}
    if base and isinstance(base.get("options"), dict):
        merged["options"] = {**options, **base["options"]}
    for key in _COLUMNS:
        if base and key in base:
            columns[key] = str(merged.pop(key))
    merged.pop("series", None)
    if merged.get("stream"):
        raise InvalidValue("$.stream: streaming is not available for a table body", path="$.stream", value=True, limit=False)
    try:
        req = msgspec.convert({**merged, "series": []}, ForecastRequest, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rsplit("at `", 1)[1].rstrip("`") if "at `" in text else "$"
        raise InvalidValue(f"{path}: {text.split(' - at ', 1)[0]}", path=path) from None
    return req, columns


class TableBody(msgspec.Struct, kw_only=True):
    """A table body, read: the query string, the multipart ``request`` part (``base``), the series, the column names."""

    query: dict[str, str]
    base: dict[str, Any]
    series: list[SeriesIn]
    names: Any


async def read_table(request: Request[Any, Any, Any], columns: dict[str, str] | None = None) -> TableBody:
    """Read a table body (CSV, Parquet, Arrow, or multipart with ``request``/``data``/``future`` parts) into
    series; ``columns`` (``id_col``/``time_col``/``target_col``) override those named in the query or ``base``."""
    from tollama import tables

    kind = media(request.headers.get("content-type", ""))
    query = {k: str(v) for k, v in request.query_params.items()}
    base: dict[str, Any] = {}
    future = None
    future_fmt: Format | None = None
    if kind == "multipart/form-data":
        form = await request.form()
        base = _json_part(form.get("request"))
        data_fmt, data = await _file_part(form, "data", required=True)
        if "future" in form:
            future_fmt, raw = await _file_part(form, "future", required=True)
            future = tables.read(raw, future_fmt, part="future")
    else:
        data_fmt, data = MEDIA[kind], await read_body(request)
    named = {k: str(v) for k, v in {**query, **base}.items() if k in _COLUMNS} | (columns or {})
    cols = tables.Columns(id=named.get("id_col"), time=named.get("time_col"), target=named.get("target_col"))
    series, names = tables.to_series(tables.read(data, data_fmt), future, fmt=data_fmt, future_fmt=future_fmt, columns=cols)
    try:
        converted = msgspec.convert(series, list[SeriesIn])
    except msgspec.ValidationError as exc:
        raise InvalidValue(f"data: {exc}", path="$.series") from None
    return TableBody(query=query, base=base, series=list(converted), names=names)


async def read_request(request: Request[Any, Any, Any]) -> tuple[ForecastRequest, Any]:
    """Decode a table body into a forecast request and the input's column names."""
    body = await read_table(request)
    req, _ = request_fields(body.query, body.base or None)
    return msgspec.structs.replace(req, series=body.series), body.names


#: Evaluate fields given in a query string as comma-separated lists.
_EVALUATE_LISTS = {"models", "metrics", "quantiles"}


def evaluate_fields(body: TableBody) -> dict[str, Any]:
    """An evaluation request's fields from a table body: the query string under the ``request`` part,
    lists comma-separated, options by name or as ``options.<name>``; the series from the table."""
    from tollama.evaluation.schema import EvaluateRequest

    fields: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, raw in body.query.items():
        name = key.removeprefix("options.")
        if key in _COLUMNS:
            continue
        if key in ("series", "stream"):
            raise InvalidValue(f"$.query.{key}: not a query parameter of a table body", path=f"$.query.{key}", value=raw)
        if key.startswith("options.") or (name in Options.__struct_fields__ and name not in EvaluateRequest.__struct_fields__):
            options[name] = raw
        else:
            fields[key] = [v for v in raw.split(",") if v.strip()] if key in _EVALUATE_LISTS else raw
    base = {k: v for k, v in body.base.items() if k not in _COLUMNS and k != "series"}
    merged: dict[str, Any] = {**fields, **base, "options": {**options, **(base.get("options") or {})}}
    if merged.get("stream"):
        raise InvalidValue("$.stream: streaming is not available for a table body", path="$.stream", value=True, limit=False)
    return merged


def _json_part(part: Any) -> dict[str, Any]:
    if part is None:
        return {}
    raw = part if isinstance(part, str) else None
    if raw is None:
        raise InvalidRequest("the multipart 'request' part must be a JSON object given as a form field")
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"the multipart 'request' part is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidRequest("the multipart 'request' part must be a JSON object")
    return value


async def _file_part(form: Any, name: str, *, required: bool) -> tuple[Format, bytes]:
    part = form.get(name)
    if part is None:
        raise InvalidRequest(f"the multipart body needs a '{name}' part (a CSV, Parquet or Arrow table)")
    if isinstance(part, str):
        return "csv", part.encode()
    kind = media(part.content_type or "")
    fmt = MEDIA.get(kind) or _EXT.get((part.filename or "").rsplit(".", 1)[-1].lower())
    if fmt is None:
        if kind in ("", "application/octet-stream", "text/plain"):
            fmt = "csv"
        else:
            raise UnsupportedMediaType(f"the '{name}' part is {kind!r}; send text/csv, {OUT_MEDIA['parquet']} or {OUT_MEDIA['arrow']}")
    return fmt, await part.read()


def table_response(resp: Any, fmt: Format, names: Any) -> Response[bytes]:
    from tollama import tables

    forecasts = msgspec.to_builtins(resp)["forecasts"]
    body = tables.write(tables.forecast_table(forecasts, names or tables.Names()), fmt)
    return Response(body, status_code=200, media_type=OUT_MEDIA[fmt])
