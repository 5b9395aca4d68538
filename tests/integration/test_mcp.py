"""``tollama mcp`` over stdio, driven by the MCP SDK's own ClientSession, against a real ``tollama serve``."""

from __future__ import annotations

import asyncio
import random
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from conftest import family_python, refused_port, tollama_server
from hubserver import HubServer
from mcp import ClientSession, StdioServerParameters, stdio_client
from tollama import schema
from tollama.registry import Registry
from tollama.settings import Settings

PULLED = "chronos-bolt-tiny"  # pulled from the local hub (files only: the MCP test never loads it)
SERIES = [{"id": "a", "target": [float(10 + i % 5) for i in range(30)], "start": "2024-01-01"},
          {"id": "b", "target": [float(100 - i) for i in range(30)]}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    family_python("baseline")
    entry = Registry.load(Settings().registry_file).get(PULLED)
    assert entry is not None and entry.repo
    files = {"config.json": b'{"model_type": "t5"}', "model.safetensors": random.Random(0).randbytes(200_000)}
    with HubServer({entry.repo: {entry.revision: files}}) as hub, tollama_server(tmp_path_factory.mktemp("home"), hub.endpoint) as env:
        yield env


def _mcp(env: dict[str, str], body: Callable[[ClientSession], Awaitable[Any]], *args: str) -> Any:
    params = StdioServerParameters(command=sys.executable, args=["-m", "tollama", "mcp", *args],
                                   env={"TOLLAMA_HOST": "127.0.0.1", "TOLLAMA_PORT": env["TOLLAMA_PORT"]})

    async def main() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return asyncio.run(asyncio.wait_for(main(), timeout=240))


def _rest(env: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    return httpx.post(f"http://127.0.0.1:{env['TOLLAMA_PORT']}{path}", json=body, timeout=120).json()


def test_tools_and_their_schemas_come_from_the_api_types(server: dict[str, str]) -> None:
    async def body(s: ClientSession) -> Any:
        return (await s.list_tools()).tools

    tools = {t.name: t for t in _mcp(server, body)}
    paths = set(httpx.get(f"http://127.0.0.1:{server['TOLLAMA_PORT']}/schema/openapi.json").json()["paths"])
    assert "/api/evaluate" in paths
    assert set(tools) == {"forecast", "validate", "evaluate", "list_models", "show_model", "pull_model"}
    assert set(tools["evaluate"].input_schema["properties"]) >= {"models", "horizon", "windows", "series", "csv_path"}
    fc = tools["forecast"].input_schema
    generated = msgspec.json.schema(schema.ForecastRequest)
    own = generated["$defs"]["ForecastRequest"]
    assert fc["type"] == "object" and fc["required"] == ["model"]
    assert set(fc["properties"]) == (set(own["properties"]) - {"stream"}) | {"csv_path"}
    for name in ("horizon", "quantiles", "series", "options", "keep_alive"):
        assert fc["properties"][name] == own["properties"][name]
    assert fc["$defs"]["SeriesIn"] == generated["$defs"]["SeriesIn"]
    assert tools["show_model"].input_schema["required"] == ["model"] and "name" not in tools["show_model"].input_schema["properties"]
    assert tools["pull_model"].annotations is not None and tools["pull_model"].annotations.read_only_hint is False

    async def read_only(s: ClientSession) -> Any:
        return [t.name for t in (await s.list_tools()).tools]

    assert "pull_model" not in _mcp(server, read_only, "--read-only")


def test_forecast_inline_and_from_a_csv_matches_the_rest_api(server: dict[str, str], tmp_path: Path) -> None:
    request = {"model": "seasonal-naive", "series": SERIES, "horizon": 4, "quantiles": [0.1, 0.9], "freq": "D"}
    csv = tmp_path / "s.csv"
    csv.write_text("id,timestamp,value\n" + "".join(f"x,2024-03-{d + 1:02d},{v}\n" for d, v in enumerate(SERIES[0]["target"])))

    async def body(s: ClientSession) -> Any:
        inline = await s.call_tool("forecast", request)
        from_csv = await s.call_tool("forecast", {"model": "seasonal-naive", "csv_path": str(csv), "horizon": 3})
        checked = await s.call_tool("validate", request)
        return inline, from_csv, checked

    inline, from_csv, checked = _mcp(server, body)
    assert not inline.is_error and not from_csv.is_error and not checked.is_error
    rest = _rest(server, "/api/forecast", request)
    for got, want in zip(inline.structured_content["forecasts"], rest["forecasts"], strict=True):
        assert got["id"] == want["id"] and got["mean"] == want["mean"] and got["quantiles"] == want["quantiles"]
    f = from_csv.structured_content["forecasts"][0]
    assert f["id"] == "x" and f["timestamps"] == ["2024-03-31", "2024-04-01", "2024-04-02"]
    rest_csv = _rest(server, "/api/forecast", {"model": "seasonal-naive", "series": [{"id": "x", "target": SERIES[0]["target"], "start": "2024-03-01"}], "freq": "D", "horizon": 3})
    assert f["mean"] == rest_csv["forecasts"][0]["mean"]
    assert checked.structured_content["valid"] is True and checked.structured_content["series"] == 2


def test_evaluate_reports_each_window_and_answers_the_rest_leaderboard(server: dict[str, str]) -> None:
    request = {"models": ["naive", "seasonal-naive"], "series": SERIES, "horizon": 2, "windows": 2, "freq": "D", "metrics": ["MASE", "MAE"]}
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def body(s: ClientSession) -> Any:
        return await s.call_tool("evaluate", request, progress_callback=on_progress)

    got = _mcp(server, body)
    assert not got.is_error, got
    rest = _rest(server, "/api/evaluate", request)
    assert [r["model"] for r in got.structured_content["leaderboard"]] == [r["model"] for r in rest["leaderboard"]]
    assert [r["metrics"] for r in got.structured_content["leaderboard"]] == [r["metrics"] for r in rest["leaderboard"]]
    assert [p[0] for p in progress] == [1.0, 2.0, 3.0, 4.0] and {p[1] for p in progress} == {4.0}


def test_errors_are_tool_errors_with_tollamas_code(server: dict[str, str], tmp_path: Path) -> None:
    async def body(s: ClientSession) -> Any:
        return {
            "missing": await s.call_tool("forecast", {"model": "nosuch", "series": [[1.0, 2.0]]}),
            "horizon": await s.call_tool("forecast", {"model": "naive", "series": [[1.0, 2.0]], "horizon": 0}),
            "both": await s.call_tool("forecast", {"model": "naive", "series": [[1.0]], "csv_path": "x.csv"}),
            "nofile": await s.call_tool("forecast", {"model": "naive", "csv_path": str(tmp_path / "absent.csv")}),
            "licence": await s.call_tool("pull_model", {"model": "moirai-1.1-r-small"}),
            "show": await s.call_tool("show_model", {"model": "nosuch"}),
        }

    r = _mcp(server, body)
    assert all(res.is_error for res in r.values())
    codes = {k: res.structured_content["code"] for k, res in r.items()}
    assert codes == {"missing": "model_not_found", "horizon": "invalid_value", "both": "invalid_request", "nofile": "invalid_request",
                     "licence": "license_not_accepted", "show": "model_not_found"}
    assert r["horizon"].structured_content["path"] == "$.horizon"
    assert "absent.csv" in r["nofile"].structured_content["error"]
    assert '"code": "model_not_found"' in r["missing"].content[0].text

    async def down(s: ClientSession) -> Any:
        return await s.call_tool("list_models", {})

    with refused_port() as port:
        dead = _mcp({"TOLLAMA_PORT": str(port)}, down)
    assert dead.is_error and dead.structured_content["code"] == "server_unreachable"


def test_pull_reports_progress_then_the_model_is_listed(server: dict[str, str]) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def body(s: ClientSession) -> Any:
        pulled = await s.call_tool("pull_model", {"model": PULLED}, progress_callback=on_progress)
        return pulled, await s.call_tool("list_models", {}), await s.call_tool("show_model", {"model": PULLED})

    pulled, listed, shown = _mcp(server, body)
    assert not pulled.is_error and pulled.structured_content["status"] == "success"
    sized = [p for p in progress if p[1]]
    assert sized and sized[-1][0] == sized[-1][1] and any(p[1] == 200_000 for p in sized)
    assert progress[-1][2] == "success"
    assert f"{PULLED}:latest" in [m["name"] for m in listed.structured_content["models"]]
    assert shown.structured_content["details"]["family"] == "chronos"


def test_streamable_http_transport(server: dict[str, str]) -> None:
    import subprocess
    import time

    from mcp import Client

    with socket.socket() as s:  # `tollama mcp --http` takes a fixed port: one the OS just gave
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-m", "tollama", "mcp", "--http", f"127.0.0.1:{port}"], env=server)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "tollama mcp --http did not start"
                time.sleep(0.1)

        async def main() -> Any:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                return await client.call_tool("forecast", {"model": "naive", "series": [[1.0, 2.0, 3.5]], "horizon": 2})

        res = asyncio.run(asyncio.wait_for(main(), timeout=120))
        assert not res.is_error and res.structured_content["forecasts"][0]["mean"] == [3.5, 3.5]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
