"""The Python client for a tollama server (used by the CLI; usable from any program).

    >>> from tollama.client import Client
    >>> with Client() as c:
    ...     c.forecast({"model": "auto-ets", "horizon": 12, "series": [[1, 2, 3, 4, 5]]})

Server errors raise :class:`ApiError` carrying the HTTP status and the stable ``code``;
an unreachable server raises :class:`ServerUnreachable`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = str(body.get("code", "error"))
        super().__init__(str(body.get("error", f"HTTP {status}")))


class ServerUnreachable(Exception):
    pass


class Client:
    def __init__(self, base_url: str = "http://127.0.0.1:11435", *, timeout: float | None = 600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

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
                            raise ApiError(500, event)
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

    def evaluate(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``POST /api/evaluate`` streamed: progress events, then ``{"status": "done", "response": …}``."""
        return self._stream("/api/evaluate", {**request, "stream": True})

    def validate(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/validate", request)  # type: ignore[no-any-return]


def _result(resp: httpx.Response) -> Any:
    try:
        body = resp.json()
    except ValueError:
        body = {"error": resp.text or f"HTTP {resp.status_code}"}
    if resp.status_code >= 400:
        raise ApiError(resp.status_code, body if isinstance(body, dict) else {"error": str(body)})
    return body
