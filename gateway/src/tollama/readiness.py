"""``/readyz``: whether this gateway can serve now, and if not, what is failing.

Checks, each named in the answer:

- ``gateway``: the app's lifespan has started and is not shutting down;
- ``store``: the model store's directory can be listed;
- ``worker:<family>``: each static family (``TOLLAMA_STATIC_WORKERS``) has a replica that
  answers ``/v1/health`` (it fails only when none does, naming each replica's reason), and each
  running process/container worker answers it, within :data:`PROBE_TIMEOUT` seconds.

A family the scheduler has marked failing (repeated crashes) also fails its check. An idle
process or docker runtime with no worker running is ready: workers start on first use.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from tollama.errors import TollamaError, WorkerUnavailable
from tollama.runtime.base import WorkerHandle

PROBE_TIMEOUT = 2.0

Probe = Callable[[], Awaitable[None]]
"""Raises (a :class:`TollamaError` or ``OSError``) when the dependency cannot serve."""


@dataclass
class Readiness:
    """What ``/readyz`` answers: ``ok`` and, per check, ``"ok"`` or the reason it failed."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(v == "ok" for v in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, v in self.checks.items() if v != "ok"]

    def body(self) -> dict[str, object]:
        if self.ok:
            return {"status": "ready", "checks": self.checks}
        failing = self.failing
        reasons = "; ".join(f"{name}: {self.checks[name]}" for name in failing)
        return {"status": "not_ready", "error": f"not ready: {reasons}", "code": "not_ready", "failing": failing, "checks": self.checks}


def store_probe(store_dir: Path) -> Probe:
    async def probe() -> None:
        if not store_dir.is_dir():
            raise OSError(f"the model store {store_dir} is missing")
        if not os.access(store_dir, os.R_OK | os.X_OK):
            raise OSError(f"the model store {store_dir} is not readable")
        await asyncio.to_thread(lambda: next(os.scandir(store_dir), None))

    return probe


async def check(started: bool, probes: dict[str, Probe], failing_families: dict[str, str]) -> Readiness:
    """Run every probe at once (each bounded by :data:`PROBE_TIMEOUT`)."""
    result = Readiness({"gateway": "ok" if started else "the gateway is starting or shutting down"})
    names = list(probes)
    outcomes = await asyncio.gather(*(_run(probes[n]) for n in names))
    result.checks.update(zip(names, outcomes, strict=True))
    for family, reason in failing_families.items():
        result.checks[f"worker:{family}"] = reason
    return result


async def _run(probe: Probe) -> str:
    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT)
    except TimeoutError:
        return f"no answer within {PROBE_TIMEOUT:g}s"
    except TollamaError as exc:
        return exc.message
    except OSError as exc:
        return str(exc)
    return "ok"


def handle_probes(handles: dict[str, WorkerHandle]) -> dict[str, Probe]:
    """A probe per running worker: its process/container is alive and ``/v1/health`` answers."""

    def probe_for(family: str, handle: WorkerHandle) -> Probe:
        async def probe() -> None:
            if not handle.alive():
                tail = handle.log_tail().strip().splitlines()[-3:]
                raise WorkerUnavailable(f"the {family} worker has exited" + (f" (last log lines: {' | '.join(tail)})" if tail else ""))
            await handle.client.health(timeout=PROBE_TIMEOUT)

        return probe

    return {family: probe_for(family, handle) for family, handle in handles.items()}


class ReadinessCheck:
    """Built once per app; the lifespan flips :attr:`started`. ``runtime_probes`` lists the
    runtime's own fixed workers (static URLs); ``running`` the workers the scheduler holds now."""

    def __init__(
        self, store_dir: Path, *, runtime_probes: Callable[[], dict[str, Probe]],
        running: Callable[[], dict[str, Probe]], failing: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.store_dir = store_dir
        self.started = False
        self._runtime_probes = runtime_probes
        self._running = running
        self._failing = failing

    async def __call__(self) -> Readiness:
        probes: dict[str, Probe] = {"store": store_probe(self.store_dir)}
        probes.update({f"worker:{f}": p for f, p in self._running().items()})
        probes.update({f"worker:{f}": p for f, p in self._runtime_probes().items()})
        return await check(self.started, probes, self._failing())
