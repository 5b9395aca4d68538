"""The command line every family's test fixtures share (``families/<f>/tests/fixtures_cli.py``).

Gateway-level tests and the benchmarks run it with the family environment's python, the only
place the upstream library can be imported::

    fixtures_cli.py build MODEL OUT_DIR [--size tiny|real] [--seed N]
    fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON
    fixtures_cli.py time MODEL CKPT_DIR REQUEST_JSON [--repeat N]

``build`` writes a randomly initialised checkpoint in the hub's file layout; ``direct`` answers a
request (``{"horizon", "quantiles", "series": [{"id", "target": [[...]], ...}], "options"}``) with the
library called directly, not through the adapter; ``time`` loads once, warms up with one call, and
prints ``{"load_ms", "first_ms", "median_ms", "repeat"}`` as JSON for the same call repeated.

A family describes itself with :class:`Fixtures`: the direct call is split into ``load`` and
``run`` so that ``time`` measures a warm call, as a warm worker makes one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Request = dict[str, Any]

# Fixtures never reach a hub: checkpoints are local directories. Set before a family's modules
# import huggingface_hub (which reads these once, at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _same(name: str) -> str:
    return name


@dataclass(frozen=True)
class Fixtures:
    models: Sequence[str]
    build: Callable[[str, Path, str, int], Path]  # (model, out_dir, size, seed) -> checkpoint dir
    load: Callable[[str, str], Any]  # (model, ckpt_dir) -> what run() needs (a pipeline, a module, ...)
    run: Callable[[str, Any, Request], Request]  # (model, loaded, request) -> {"series": [...]}
    sizes: Sequence[str] = ("tiny",)
    canonical: Callable[[str], str] = field(default=_same)  # registry spelling -> the family's own

    @classmethod
    def of(cls, checkpoints: Any, direct: Any) -> Fixtures:
        """From a family's two test modules: ``checkpoints`` (``MODELS``, ``SIZES``,
        ``build(model, out, *, seed, size)``) and ``direct`` (``load``, ``run``)."""
        return cls(
            models=sorted(checkpoints.MODELS), sizes=tuple(checkpoints.SIZES),
            build=lambda model, out, size, seed: checkpoints.build(model, out, seed=seed, size=size),
            load=direct.load, run=direct.run,
        )


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def timed(fixtures: Fixtures, model: str, ckpt_dir: str, request: Request, repeat: int) -> dict[str, float]:
    """Load once, call once to warm up, then time ``repeat`` calls of the direct library path."""
    start = time.perf_counter()
    loaded = fixtures.load(model, ckpt_dir)
    load_ms = _ms(start)
    start = time.perf_counter()
    fixtures.run(model, loaded, request)
    first_ms = _ms(start)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fixtures.run(model, loaded, request)
        samples.append(_ms(start))
    return {"load_ms": load_ms, "first_ms": first_ms, "median_ms": statistics.median(samples), "repeat": repeat}


def parser(fixtures: Fixtures, description: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fixtures_cli.py", description=description or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    models = sorted(fixtures.models)
    sub = p.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a random checkpoint for MODEL in the hub's layout")
    build.add_argument("model", choices=models, type=fixtures.canonical)
    build.add_argument("out_dir")
    build.add_argument("--size", choices=list(fixtures.sizes), default=fixtures.sizes[0])
    build.add_argument("--seed", type=int, default=0)
    direct = sub.add_parser("direct", help="answer REQUEST_JSON with the upstream library called directly")
    timing = sub.add_parser("time", help="time the direct library call on a warm model")
    for command in (direct, timing):
        command.add_argument("model", choices=models, type=fixtures.canonical)
        command.add_argument("ckpt_dir")
        command.add_argument("request_json")
    direct.add_argument("out_json")
    timing.add_argument("--repeat", type=int, default=5)
    return p


def main(fixtures: Fixtures, argv: Sequence[str] | None = None, description: str | None = None) -> int:
    args = parser(fixtures, description).parse_args(argv)
    if args.command == "build":
        print(fixtures.build(args.model, Path(args.out_dir), args.size, args.seed))
        return 0
    request = json.loads(Path(args.request_json).read_text())
    if args.command == "direct":
        result = fixtures.run(args.model, fixtures.load(args.model, args.ckpt_dir), request)
        Path(args.out_json).write_text(json.dumps(result))
    else:
        print(json.dumps(timed(fixtures, args.model, args.ckpt_dir, request, args.repeat)))
    return 0
