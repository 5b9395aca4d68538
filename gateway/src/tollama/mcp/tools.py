"""The tools tollama offers to agents: one table, used by ``tollama mcp`` and ``openai-tools.json``.

Each tool's input schema is generated from the msgspec type the REST endpoint decodes
(``msgspec.json.schema``), less the fields a tool does not take (``stream``, the legacy
``name``) and plus the few it adds (``csv_path``). A tool lists the REST path it calls, and
is offered only where the server answers that path (its OpenAPI document), so adding the
evaluation tool (``/api/evaluate``) is one such entry.

Handlers are synchronous calls of :class:`tollama.client.Client` (the transport runs them in
a worker thread); ``progress(done, total, message)`` reports progress to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from tollama import schema
from tollama.cli.inputs import InputError, read_input
from tollama.client import Client
from tollama.evaluation.schema import EvaluateRequest

Progress = Callable[[float, float | None, str], None]
Handler = Callable[[Client, dict[str, Any], Progress], Any]


class ToolInputError(ValueError):
    """Arguments that the tool (not the server) refuses; ``code`` is tollama's error code."""

    def __init__(self, message: str, code: str = "invalid_request", **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    endpoint: str  # the REST path the tool calls; the tool is offered where the server has it
    input_type: type[msgspec.Struct] | None
    call: Handler
    drop: tuple[str, ...] = ()  # request fields the tool does not take
    optional: tuple[str, ...] = ()  # required by the type, optional for the tool
    require: tuple[str, ...] = ()  # optional in the type, required by the tool
    extra: dict[str, Any] = field(default_factory=dict)  # properties the tool adds
    admin: bool = False  # changes the server's state (hidden by `tollama mcp --read-only`)

    def input_schema(self) -> dict[str, Any]:
        if self.input_type is None:
            return {"type": "object", "properties": {}, "additionalProperties": False}
        return object_schema(self.input_type, drop=self.drop, optional=self.optional, require=self.require, extra=self.extra)


def object_schema(t: type[msgspec.Struct], *, drop: tuple[str, ...] = (), optional: tuple[str, ...] = (),
                  require: tuple[str, ...] = (), extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of ``t`` as a top-level object (MCP and OpenAI want no top-level ``$ref``)."""
    generated = msgspec.json.schema(t)
    defs: dict[str, Any] = dict(generated.get("$defs", {}))
    top = dict(defs.pop(generated["$ref"].rsplit("/", 1)[-1])) if "$ref" in generated else generated
    props = {k: v for k, v in top.get("properties", {}).items() if k not in drop}
    props.update(extra or {})
    required = [r for r in top.get("required", []) if r in props and r not in optional]
    required += [r for r in require if r not in required]
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if top.get("description"):
        out["description"] = top["description"]
    if defs:
        out["$defs"] = defs
    return out


# -- handlers ---------------------------------------------------------------------------------
def _forecast_request(args: dict[str, Any]) -> dict[str, Any]:
    request = dict(args)
    csv_path = request.pop("csv_path", None)
    if csv_path is not None and "series" in request:
        raise ToolInputError("give either `series` or `csv_path`, not both", path="$.csv_path")
    if csv_path is not None:
        try:
            request["series"] = read_input(Path(str(csv_path)))[0]
        except InputError as exc:
            raise ToolInputError(str(exc), path="$.csv_path", value=str(csv_path)) from exc
    elif "series" not in request:
        raise ToolInputError("a forecast needs `series` (inline) or `csv_path` (a CSV or JSON file)", path="$.series")
    return request


def _forecast(c: Client, args: dict[str, Any], progress: Progress) -> Any:
    return c.forecast(_forecast_request(args))


def _validate(c: Client, args: dict[str, Any], progress: Progress) -> Any:
    return c.validate(_forecast_request(args))


def _evaluate(c: Client, args: dict[str, Any], progress: Progress) -> Any:
    """A backtest and leaderboard; each model-window done is a progress notification."""
    result: Any = None
    for event in c.evaluate_stream(_forecast_request(args)):
        if event.get("status") == "evaluating":
            progress(float(event["completed"]), float(event["total"]), f"{event['model']} window {int(event['window']) + 1}")
        elif event.get("status") == "done":
            result = event["response"]
    return result


def _list_models(c: Client, args: dict[str, Any], progress: Progress) -> Any:
    return c.tags()


def _show_model(c: Client, args: dict[str, Any], progress: Progress) -> Any:
    return c.show(str(args["model"]))


def _pull_model(c: Client, args: dict[str, Any], progress: Progress) -> Any:
    last: dict[str, Any] = {}
    for event in c.pull(str(args["model"]), accept_license=bool(args.get("accept_license", False))):
        last = event
        total = event.get("total")
        progress(float(event.get("completed") or 0), float(total) if total else None, str(event.get("status", "")))
    return {"model": args["model"], "status": last.get("status", "")}


_CSV_PATH = {"csv_path": {"type": "string", "description": "instead of `series`: a CSV (long format: id, timestamp, value) or JSON file on the MCP server's machine"}}
_FORECAST_DROP = ("stream",)

TOOLS: tuple[Tool, ...] = (
    Tool("forecast", "Probabilistic forecast of one or more time series with an installed model (or 'auto'): mean and quantiles per series for `horizon` steps.",
         "/api/forecast", schema.ForecastRequest, _forecast, drop=_FORECAST_DROP, optional=("series",), extra=_CSV_PATH),
    Tool("validate", "Check a forecast request against the model's capabilities without running it (a dry run): the horizon, quantiles and warnings it would get.",
         "/api/validate", schema.ForecastRequest, _validate, drop=_FORECAST_DROP, optional=("series",), extra=_CSV_PATH),
    Tool("evaluate", "Backtest installed models on the given series (rolling windows at each series' end) and rank them: a leaderboard of fev's metrics (MASE, WQL, SMAPE, ...), win rate and skill, plus per-window results.",
         "/api/evaluate", EvaluateRequest, _evaluate, drop=_FORECAST_DROP, optional=("series",), extra=_CSV_PATH),
    Tool("list_models", "The installed models (name, digest, size, family).", "/api/tags", None, _list_models),
    Tool("show_model", "A model's details: family, parameters, capabilities (context, horizon, quantiles, covariates), licence, TSModelfile.",
         "/api/show", schema.ShowRequest, _show_model, drop=("name",), require=("model",)),
    Tool("pull_model", "Download a catalogue model onto the server (progress as notifications). Some licences must be accepted: `accept_license`.",
         "/api/pull", schema.PullRequest, _pull_model, drop=("name", "stream", "username", "password"), require=("model",), admin=True),
)


def offered(paths: set[str] | None, *, read_only: bool = False) -> list[Tool]:
    """The tools whose endpoint the server has (``paths`` None: all), less admin tools when read-only."""
    return [t for t in TOOLS if (paths is None or t.endpoint in paths) and not (read_only and t.admin)]
