"""Model management, Ollama-shaped: tags, show, pull, delete, copy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.response import Stream

from tollama.api.errors import decode, error_line, read_body
from tollama.api.openapi import BODY, MODEL, NDJSON, documented
from tollama.creating import Creator
from tollama.errors import InvalidRequest, LicenseNotAccepted, ModelNotFound, TollamaError
from tollama.models import Models
from tollama.names import parse_name
from tollama.pull import Puller, PullEvent
from tollama.scheduler import Scheduler
from tollama.schema import CopyRequest, CreateRequest, NameRequest, PullRequest, ShowRequest, ShowResponse, Tags

_JSON = msgspec.json.Encoder()


class Deleted(msgspec.Struct, kw_only=True):
    status: str
    model: str


class Copied(msgspec.Struct, kw_only=True):
    status: str
    source: str
    destination: str


class CreateEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One line of ``POST /api/create``'s progress (the last one, ``success``, carries the digest)."""

    status: str
    digest: str | None = None


def _json(obj: Any, status: int = 200) -> Response[bytes]:
    return Response(_JSON.encode(obj), status_code=status, media_type="application/json")


@get("/api/tags", sync_to_thread=False, operation_class=documented(ok=Tags))
def tags(models: NamedDependency[Models]) -> Response[bytes]:
    return _json(models.tags())


@post("/api/show", status_code=200, operation_class=documented(body=ShowRequest, ok=ShowResponse, errors=(*BODY, *MODEL)))
async def show(request: Request[Any, Any, Any], models: NamedDependency[Models]) -> Response[bytes]:
    return _json(models.show(decode(await read_body(request), ShowRequest).ref()))


@delete("/api/delete", status_code=200, operation_class=documented(body=NameRequest, ok=Deleted, errors=(*BODY, *MODEL, "conflict")))
async def delete_model(request: Request[Any, Any, Any], models: NamedDependency[Models], scheduler: NamedDependency[Scheduler]) -> Response[bytes]:
    req = decode(await read_body(request), NameRequest)
    ref = parse_name(req.ref())
    # the manifest alone (not resolve): an ensemble whose member is gone can still be deleted
    manifest = models.store.require(ref, known=models.registry.names())
    await scheduler.stop_model(models.store.digest(manifest))
    await asyncio.to_thread(models.store.delete, ref)
    models.changed()
    return _json(Deleted(status="success", model=ref.full))


@post("/api/copy", status_code=200, operation_class=documented(body=CopyRequest, ok=Copied, errors=(*BODY, *MODEL, "conflict")))
async def copy_model(request: Request[Any, Any, Any], models: NamedDependency[Models]) -> Response[bytes]:
    req = decode(await read_body(request), CopyRequest)
    src, dst = parse_name(req.source), parse_name(req.destination)
    await asyncio.to_thread(models.store.copy, src, dst)
    models.changed()
    return _json(Copied(status="success", source=src.full, destination=dst.full))


@post("/api/pull", status_code=200, operation_class=documented(
    body=PullRequest, ok=PullEvent, ok_media={NDJSON: PullEvent},
    errors=(*BODY, *MODEL, "license_not_accepted", "upstream_error", "integrity_error", "conflict"),
))
async def pull(request: Request[Any, Any, Any], models: NamedDependency[Models], puller: NamedDependency[Puller]) -> Response[bytes] | Stream:
    req = decode(await read_body(request), PullRequest)
    ref = parse_name(req.ref())
    entry = models.registry.get(ref.name)
    if entry is None:
        close = models.registry.closest(ref.name)
        hint = f"; did you mean '{close}'?" if close else "; `tollama info` lists the catalogue"
        raise ModelNotFound(f"model '{ref.name}' is not in the catalogue{hint}", model=ref.name)
    if entry.builtin:
        models.ensure_builtins()
        events: AsyncIterator[PullEvent] = _single(PullEvent(status="success"))
    else:
        if entry.license_acceptance and not req.accept_license:
            raise LicenseNotAccepted(
                f"model '{ref.name}' is licensed {entry.license}, which must be accepted: pull again with "
                "`accept_license: true` (CLI: --accept-license)",
                model=ref.name, license=entry.license,
            )
        events = puller.pull(ref, entry, accept_license=req.accept_license)
    # The first event is awaited here so that early failures (hub unreachable, unknown repo)
    # answer with their HTTP status instead of inside a 200 stream.
    first = await anext(events)
    if not req.stream:
        last = first
        async for event in events:
            last = event
        models.changed()
        return _json(last)
    return Stream(_ndjson(first, events, models), media_type=NDJSON)


async def _single(event: PullEvent) -> AsyncIterator[PullEvent]:
    yield event


async def _ndjson(first: PullEvent, rest: AsyncIterator[PullEvent], models: NamedDependency[Models]) -> AsyncIterator[bytes]:
    yield _JSON.encode(first) + b"\n"
    try:
        async for event in rest:
            yield _JSON.encode(event) + b"\n"
    except TollamaError as exc:
        yield error_line(exc)
    finally:
        models.changed()


@post("/api/create", status_code=200, operation_class=documented(
    body=CreateRequest, ok=CreateEvent, ok_media={NDJSON: CreateEvent}, errors=(*BODY, *MODEL, "conflict", "unsupported"),
))
async def create(request: Request[Any, Any, Any], models: NamedDependency[Models], import_roots: NamedDependency[tuple[Path, ...]]) -> Response[bytes] | Stream:
    req = decode(await read_body(request), CreateRequest)
    text = req.modelfile if req.modelfile is not None else _modelfile_from_parts(req)
    creator = Creator(models, import_roots)
    events = await asyncio.to_thread(lambda: list(creator.create(req.ref(), text)))
    if not req.stream:
        return _json(events[-1])
    return Stream(_lines(events), media_type=NDJSON)


def _modelfile_from_parts(req: CreateRequest) -> str:
    if not req.from_:
        raise InvalidRequest("create needs `modelfile` (a TSModelfile) or `from` (a base model)")
    lines = [f"FROM {req.from_}"]
    for name, value in req.parameters.items():
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        lines.append(f"PARAM {name} {shown}")
    if req.license:
        text = "\n".join(req.license) if isinstance(req.license, list) else req.license
        lines.append(f'LICENSE """{text}"""')
    return "\n".join(lines) + "\n"


async def _lines(events: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for event in events:
        yield _JSON.encode(event) + b"\n"


ROUTES = [tags, show, delete_model, copy_model, pull, create]
