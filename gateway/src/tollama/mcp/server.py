"""``tollama mcp``: a Model Context Protocol server (the official ``mcp`` SDK) in front of a tollama server.

It is a client of the REST API like every CLI command: the tools in :mod:`tollama.mcp.tools`
call the server that ``TOLLAMA_HOST``/``TOLLAMA_PORT`` name. Transports: stdio (default) or
streamable HTTP (``--http``). A failed call is an MCP tool error (``isError``) whose structured
content is tollama's error body: ``{"error", "code", ...details}``.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server

from tollama import __version__
from tollama.client import ApiError, Client, ServerUnreachable
from tollama.mcp.tools import Tool, ToolInputError, offered

INSTRUCTIONS = (
    "tollama forecasts time series with foundation models (Chronos, TimesFM, Moirai, TTM, Sundial, Toto) and "
    "statistical baselines. Call list_models for what is installed, show_model for a model's capabilities, "
    "then forecast with inline `series` (lists of numbers, or objects with id/target/timestamps) or a `csv_path`."
)


def server_paths(base_url: str) -> set[str] | None:
    """The REST paths the server documents (its OpenAPI), or None when it cannot say."""
    import httpx

    try:
        doc = httpx.get(f"{base_url}/schema/openapi.json", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        return None
    return set(doc.get("paths", {})) if isinstance(doc, dict) else None


def _error(body: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(body))], structured_content=body, is_error=True)


def _ok(data: Any) -> types.CallToolResult:
    structured = data if isinstance(data, dict) else {"result": data}
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(data))], structured_content=structured)


def build(base_url: str, *, read_only: bool = False, paths: set[str] | None = None) -> Server[Any]:
    """The MCP server; ``paths``: the REST paths the tollama server has (None: offer every tool)."""
    tools: dict[str, Tool] = {t.name: t for t in offered(paths, read_only=read_only)}
    listed = [
        types.Tool(name=t.name, description=t.description, input_schema=t.input_schema(),
                   annotations=types.ToolAnnotations(read_only_hint=not t.admin, open_world_hint=False))
        for t in tools.values()
    ]

    async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = tools.get(params.name)
        if tool is None:
            return _error({"error": f"unknown tool {params.name!r}; tools: {', '.join(tools)}", "code": "invalid_request"})

        def progress(done: float, total: float | None, message: str) -> None:
            anyio.from_thread.run(ctx.session.report_progress, done, total, message)

        def run() -> Any:
            with Client(base_url) as client:
                return tool.call(client, dict(params.arguments or {}), progress)

        try:
            return _ok(await anyio.to_thread.run_sync(run))
        except ApiError as exc:
            return _error({"error": str(exc), **exc.response, "code": exc.code})
        except ServerUnreachable as exc:
            return _error({"error": str(exc), "code": "server_unreachable"})
        except ToolInputError as exc:
            return _error({"error": str(exc), "code": exc.code, **exc.details})
        except (KeyError, TypeError, ValueError) as exc:
            return _error({"error": f"bad arguments for {tool.name}: {exc}", "code": "invalid_request"})

    return Server("tollama", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools, on_call_tool=call_tool,
                  get_tool_input_schema=lambda name: tools[name].input_schema() if name in tools else None)


def run_stdio(base_url: str, *, read_only: bool = False) -> None:
    server = build(base_url, read_only=read_only, paths=server_paths(base_url))

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def run_http(base_url: str, host: str, port: int, *, read_only: bool = False) -> None:
    import uvicorn

    server = build(base_url, read_only=read_only, paths=server_paths(base_url))
    app = server.streamable_http_app(host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning")
