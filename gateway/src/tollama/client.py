"""The Python client for a tollama server (used by the CLI; usable from any program).

    >>> from tollama.client import Client
    >>> with Client() as c:
    ...     c.forecast({"model": "auto-ets", "horizon": 12, "series": [[1, 2, 3, 4, 5]]})

Server errors raise the error class of their stable ``code`` from the one table
(:mod:`tollama.errors`: ``except ModelNotFound``, ``except Busy`` ...), whether the server
answered with an HTTP status or with an error line inside a stream; every one is also an
:class:`ApiError` carrying ``status``, ``code``, ``details`` and ``response`` (the body). An unreachable server raises
:class:`ServerUnreachable`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import httpx

from tollama import errors


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


class Client:
    def __init__(self, base_url: str = "http://127.0.0.1:11435", *, timeout: float | None = 600.0, http: httpx.Client | None = None) -> None:
        """``http``: an httpx client to send through instead (e.g. Litestar's test client of an app)."""
        self.base_url = base_url.rstrip("/")
        self._http = http if http is not None else httpx.Client(base_url=self.base_url, timeout=timeout)

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
            raise ServerUnreachable(f"tollama is not running at {self.base_url} ({type(exc).__name__}); start it with `tollama serve`") from exc
        return _result(resp)

    def _stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            with self._http.stream("POST", path, json=body) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    _result(resp)
                for line in resp.iter_lines():
                    if line.strip():
                        event = json.loads(line)
                        if "error" in event and event.get("status") in (None, "error"):
                            raise api_error(None, event)
                        yield event
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"tollama is not running at {self.base_url} ({type(exc).__name__}); start it with `tollama serve`") from exc

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
        return self._stream("/api/pull", {"model": model, "stream": True, "accept_license": accept_license})

    def create(self, model: str, modelfile: str) -> Iterator[dict[str, Any]]:
        return self._stream("/api/create", {"model": model, "modelfile": modelfile, "stream": True})

    def forecast(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/forecast", {**request, "stream": False})  # type: ignore[no-any-return]

    def forecast_stream(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The forecast's NDJSON events (queued, loading, running, done); an error line raises its class."""
        return self._stream("/api/forecast", {**request, "stream": True})

    def validate(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/validate", request)  # type: ignore[no-any-return]


def _result(resp: httpx.Response) -> Any:
    try:
        body = resp.json()
    except ValueError:
        body = {"error": resp.text or f"HTTP {resp.status_code}"}
    if resp.status_code >= 400:
        raise api_error(resp.status_code, body if isinstance(body, dict) else {"error": str(body)})
    return body
