"""Shared pytest configuration.

pytest puts this folder on ``sys.path`` (rootdir conftest, no ``__init__.py``), so test
modules import shared helpers such as :mod:`hubserver` (a local model hub) by name.

Every test also checks that every response its httpx clients see carries a code of the one
error table (:func:`error_code_problem`).
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from error_table_check import error_code_problem, stream_line_problem


@pytest.fixture(autouse=True)
def _every_response_carries_a_tabled_code(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Check every response the suite's httpx clients (the test client and tollama's own) receive."""
    if request.node.get_closest_marker("foreign_errors") is not None:
        yield
        return
    sync_send = httpx.Client.send
    async_send = httpx.AsyncClient.send
    problems: list[str] = []

    def note(resp: httpx.Response) -> httpx.Response:
        problem = error_code_problem(resp)
        if problem is not None:
            problems.append(f"{resp.request.method} {resp.request.url.path}: {problem}")
        return resp

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        return note(sync_send(self, request, **kwargs))

    async def asend(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        return note(await async_send(self, request, **kwargs))

    iter_lines = httpx.Response.iter_lines

    def lines(self: httpx.Response) -> Iterator[str]:
        for line in iter_lines(self):
            problem = stream_line_problem(line) if "ndjson" in self.headers.get("content-type", "") and line.strip() else None
            if problem is not None:
                problems.append(f"{self.request.url.path}: {problem}")
            yield line

    monkeypatch.setattr(httpx.Response, "iter_lines", lines)
    monkeypatch.setattr(httpx.Client, "send", send)
    monkeypatch.setattr(httpx.AsyncClient, "send", asend)
    yield
    assert not problems, "responses outside the error table (tollama/errors.py STATUS):\n" + "\n".join(problems)
