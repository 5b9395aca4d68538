"""The Python client for a tollama server (used by the CLI; usable from any program).

    >>> from tollama.client import Client
    >>> with Client() as c:
    ...     c.forecast({"model": "auto-ets", "horizon": 12, "series": [[1, 2, 3, 4, 5]]})
    ...     c.forecast(df, model="auto-ets", horizon=12, quantiles=[0.1, 0.9])  # a long-format DataFrame

:class:`Client` (blocking) and :class:`AsyncClient` take a request dict and answer the response
dict, or take a pandas DataFrame in long format (``unique_id``, ``ds``, ``y`` or the aliases of
docs/interop.md; ``future_df`` for the horizon's known covariates) and answer a DataFrame (id, time,
``mean``, one column per quantile level); pandas is the optional extra ``tollama[pandas]``. Every
request has a timeout (600 s unless the caller passes another, or ``None``).

Server errors raise the error class of their stable ``code`` from the one table
(:mod:`tollama.errors`: ``except ModelNotFound``, ``except Busy`` ...), whether the server
answered with an HTTP status or with an error line inside a stream; every one is also an
:class:`ApiError` carrying ``status``, ``code``, ``details`` and ``response`` (the body). The
group names ``InvalidRequestError`` (every 400), ``ModelNotFoundError`` (every 404) and
``BusyError`` are those classes' bases under a client-side name. An unreachable server raises
:class:`ServerUnreachable`.

``api_key`` (default: the ``TOLLAMA_API_KEY`` environment variable) is sent as
``Authorization: Bearer <key>`` when the server requires keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import httpx

from tollama import dataframes, errors

Progress = Callable[[dict[str, Any]], None]
DEFAULT_URL = "http://127.0.0.1:11435"

class ApiError(errors.TollamaError):
    """An error a tollama server answered; raised as the class of its code (see :func:`api_error`).

    ``status`` is the HTTP status (for an in-stream error: the table's status of its code),
    ``response`` the JSON error body, ``details`` its fields besides ``error`` and ``code``.
    """

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        errors.TollamaError.__init__(self, str(body.get("error") or f"HTTP {status}"), **{k: v for k, v in body.items() if k not in {"error", "code"}})
        self.status = status
        self.response = body
        if "code" in body and str(body["code"]) != type(self).code:
            self.code = str(body["code"])
        if isinstance(self, errors.Busy):
            self.retry_after = int(self.details.get("retry_after", 1))


#: One client class per code of the table: ``isinstance(exc, errors.ModelNotFound)`` holds on the client side.
_CLASSES: dict[str, type[ApiError]] = {
    code: cast("type[ApiError]", type(kind.__name__, (ApiError, kind), {"__module__": __name__, "__doc__": kind.__doc__}))
    for code, kind in errors.CLASSES.items()
}


def api_error(status: int | None, body: dict[str, Any]) -> ApiError:
    """The client error of a server's error body: an :class:`ApiError` that is also the server's class of its code.

    ``status`` None (an error line in a stream) takes the table's status of the code.
    """
    code = str(body.get("code") or "")
    cls = _CLASSES.get(code, ApiError)
    return cls(status if status is not None else errors.STATUS.get(code, 500), body)


class ServerUnreachable(Exception):
    pass


InvalidRequestError = errors.InvalidRequest
ModelNotFoundError = errors.NotFound
BusyError = errors.Busy


def _auth_headers(api_key: str | None) -> dict[str, str] | None:
    """``Authorization: Bearer`` for ``api_key``, else ``TOLLAMA_API_KEY`` when set."""
    key = os.environ.get("TOLLAMA_API_KEY", "") if api_key is None else api_key
    return {"Authorization": f"Bearer {key}"} if key else None


def _unreachable(base_url: str, exc: Exception) -> ServerUnreachable:
    return ServerUnreachable(f"tollama is not running at {base_url} ({type(exc).__name__}); start it with `tollama serve`")


def _result(resp: httpx.Response) -> Any:
    try:
        body = resp.json()
    except ValueError:
        body = {"error": resp.text or f"HTTP {resp.status_code}"}
    if resp.status_code >= 400:
        raise api_error(resp.status_code, body if isinstance(body, dict) else {"error": str(body)})
    return body


def _event(line: str) -> dict[str, Any] | None:
    if not line.strip():
        return None
    event: dict[str, Any] = json.loads(line)
    if "error" in event and event.get("status") in (None, "error"):
        raise api_error(None, event)
    return event


class Client:
    def __init__(self, base_url: str = DEFAULT_URL, *, timeout: float | None = 600.0, transport: httpx.BaseTransport | None = None,
                 http: httpx.Client | None = None, api_key: str | None = None) -> None:
        """``http``: an httpx client to send through instead (e.g. Litestar's test client of an app)."""
        self.base_url = base_url.rstrip("/")
        self._http = http if http is not None else httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                                               headers=_auth_headers(api_key))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            resp = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return _result(resp)

    def _stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            with self._http.stream("POST", path, json=body) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    _result(resp)
                for line in resp.iter_lines():
                    if (event := _event(line)) is not None:
                        yield event
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc

    # -- the API ------------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        return self._request("GET", "/api/version")  # type: ignore[no-any-return]

    def tags(self) -> dict[str, Any]:
        return self._request("GET", "/api/tags")  # type: ignore[no-any-return]

    def show(self, model: str) -> dict[str, Any]:
        return self._request("POST", "/api/show", {"model": model})  # type: ignore[no-any-return]

    def info(self) -> dict[str, Any]:
        return self._request("GET", "/api/info")  # type: ignore[no-any-return]

    def ps(self) -> dict[str, Any]:
        return self._request("GET", "/api/ps")  # type: ignore[no-any-return]

    def delete(self, model: str) -> dict[str, Any]:
        return self._request("DELETE", "/api/delete", {"model": model})  # type: ignore[no-any-return]

    def copy(self, source: str, destination: str) -> dict[str, Any]:
        return self._request("POST", "/api/copy", {"source": source, "destination": destination})  # type: ignore[no-any-return]

    def stop(self, model: str) -> dict[str, Any]:
        return self._request("POST", "/api/stop", {"model": model})  # type: ignore[no-any-return]

    def pull(self, model: str, *, accept_license: bool = False) -> Iterator[dict[str, Any]]:
        """The pull's NDJSON progress events (Ollama's: status, digest, total, completed)."""
        return self._stream("/api/pull", {"model": model, "stream": True, "accept_license": accept_license})

    def pull_model(self, model: str, *, accept_license: bool = False, progress: Progress | None = None) -> dict[str, Any]:
        """Pull to the end, calling ``progress`` with each event; returns the last event (``success``)."""
        last: dict[str, Any] = {}
        for last in self.pull(model, accept_license=accept_license):
            if progress is not None:
                progress(last)
        return last

    def create(self, model: str, modelfile: str) -> Iterator[dict[str, Any]]:
        return self._stream("/api/create", {"model": model, "modelfile": modelfile, "stream": True})

    def forecast(self, data: Any, *, future_df: Any = None, **fields: Any) -> Any:
        """``data``: a request dict (answers the response dict), or a long-format DataFrame with the
        request's fields as keywords (``model=``, ``horizon=``, ``quantiles=``, …; answers a DataFrame)."""
        if not dataframes.is_frame(data):
            return self._request("POST", "/api/forecast", {**data, **fields, "stream": False})
        call = dataframes.encode(data, future_df, fields)
        try:
            resp = self._http.post("/api/forecast", files=call.files, data=call.form, headers=call.headers)
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        if resp.status_code >= 400:
            _result(resp)
        return dataframes.decode(resp.content, call)

    def forecast_stream(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The forecast's NDJSON events (queued, loading, running, done); an error line raises its class."""
        return self._stream("/api/forecast", {**request, "stream": True})

    def evaluate_stream(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``POST /api/evaluate`` streamed: progress events, then ``{"status": "done", "response": …}``."""
        return self._stream("/api/evaluate", {**request, "stream": True})

    def evaluate(self, data: Any, **fields: Any) -> Any:
        """``data``: a request dict (answers the response dict: leaderboard and results), or a long-format
        DataFrame with the request's fields as keywords (``models=[...]``, ``horizon=``, ``windows=``, …;
        answers the leaderboard as a DataFrame, one row per model, one column per metric)."""
        if not dataframes.is_frame(data):
            return self._request("POST", "/api/evaluate", {**data, **fields, "stream": False})
        call = dataframes.encode(data, None, fields, accept="application/json")
        try:
            resp = self._http.post("/api/evaluate", files=call.files, data=call.form, headers=call.headers)
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return dataframes.leaderboard(_result(resp))

    def validate(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/validate", request)  # type: ignore[no-any-return]


class AsyncClient:
    """:class:`Client`'s calls, awaitable (``async with AsyncClient() as c: await c.forecast(df, ...)``)."""

    def __init__(self, base_url: str = DEFAULT_URL, *, timeout: float | None = 600.0, transport: httpx.AsyncBaseTransport | None = None,
                 api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport, headers=_auth_headers(api_key))

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            resp = await self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return _result(resp)

    async def _stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            async with self._http.stream("POST", path, json=body) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    _result(resp)
                async for line in resp.aiter_lines():
                    if (event := _event(line)) is not None:
                        yield event
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc

    async def tags(self) -> dict[str, Any]:
        return await self._request("GET", "/api/tags")  # type: ignore[no-any-return]

    async def show(self, model: str) -> dict[str, Any]:
        return await self._request("POST", "/api/show", {"model": model})  # type: ignore[no-any-return]

    async def ps(self) -> dict[str, Any]:
        return await self._request("GET", "/api/ps")  # type: ignore[no-any-return]

    def pull(self, model: str, *, accept_license: bool = False) -> AsyncIterator[dict[str, Any]]:
        return self._stream("/api/pull", {"model": model, "stream": True, "accept_license": accept_license})

    async def pull_model(self, model: str, *, accept_license: bool = False, progress: Progress | None = None) -> dict[str, Any]:
        last: dict[str, Any] = {}
        async for last in self.pull(model, accept_license=accept_license):
            if progress is not None:
                progress(last)
        return last

    async def forecast(self, data: Any, *, future_df: Any = None, **fields: Any) -> Any:
        if not dataframes.is_frame(data):
            return await self._request("POST", "/api/forecast", {**data, **fields, "stream": False})
        call = dataframes.encode(data, future_df, fields)
        try:
            resp = await self._http.post("/api/forecast", files=call.files, data=call.form, headers=call.headers)
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        if resp.status_code >= 400:
            _result(resp)
        return dataframes.decode(resp.content, call)

    async def evaluate(self, data: Any, **fields: Any) -> Any:
        """As :meth:`Client.evaluate`."""
        if not dataframes.is_frame(data):
            return await self._request("POST", "/api/evaluate", {**data, **fields, "stream": False})
        call = dataframes.encode(data, None, fields, accept="application/json")
        try:
            resp = await self._http.post("/api/evaluate", files=call.files, data=call.form, headers=call.headers)
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return dataframes.leaderboard(_result(resp))
