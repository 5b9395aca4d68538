"""Fakes for unit tests of the layers above the worker (never the proof a family works).

``InProcessRuntime`` serves a real kit worker app (protocol v1, MessagePack) in-process
over httpx's ASGI transport, with a numpy adapter: the gateway, scheduler and wire codec
are exercised for real, only the process/container boundary is skipped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from tollama.errors import RuntimeNotInstalled
from tollama.worker_client import WorkerClient
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.server import create_worker_app

HOLD_BYTES = 32 * 2**20
"""What one fake model really occupies in memory."""


class LastValueAdapter:
    """Forecasts the last value; quantiles spread by the level around it (deterministic)."""

    family = "baseline"

    def __init__(self) -> None:
        self.loads: list[str] = []
        self.calls: list[int] = []
        self.options_seen: list[dict[str, object]] = []
        self.delay = 0.0
        self.fail_next: Exception | None = None
        self.offsets: dict[str, float] = {}
        """Added to the forecasts of that registry model (to tell models apart)."""

    def describe(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        self.loads.append(name)
        if self.delay:
            import time

            time.sleep(self.delay)
        # Really holds HOLD_BYTES (written, so resident): the worker's measured RSS growth sees it.
        return Loaded(handle=(name, b"\x01" * HOLD_BYTES), device=device, memory_bytes=1000)

    def unload(self, loaded: Loaded) -> None:
        return None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        self.calls.append(len(batch.series))
        self.options_seen.append(dict(batch.options))
        out = []
        for s in batch.series:
            last = np.nan_to_num(s.target[:, -1:], nan=0.0)
            mean = np.repeat(last, batch.horizon, axis=1) + self.offsets.get(loaded.handle[0], 0.0)
            q = np.stack([mean + (lv - 0.5) for lv in batch.quantiles])
            out.append(SeriesOutput(id=s.id, mean=mean, quantiles=q))
        return ForecastOutput(series=out, warnings=["from-adapter"] if batch.options.get("seed") == 99 else [])


class _AsFamily:
    """The shared fake adapter, reporting the family its handle was started for (the Info handshake checks it)."""

    def __init__(self, adapter: LastValueAdapter, family: str) -> None:
        self._adapter = adapter
        self.family = family

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adapter, name)


class FakeHandle:
    def __init__(self, family: str, adapter: LastValueAdapter) -> None:
        self.family = family
        app = create_worker_app(_AsFamily(adapter, family))  # type: ignore[arg-type]
        self.client = WorkerClient(family, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://worker"))
        self._alive = True

    def alive(self) -> bool:
        return self._alive

    def kill(self) -> None:
        self._alive = False

    def log_tail(self) -> str:
        return "fake log tail"


class InProcessRuntime:
    name = "fake"

    def __init__(self, families: tuple[str, ...] = ("baseline", "chronos")) -> None:
        self.families = families
        self.adapter = LastValueAdapter()
        self.started: list[FakeHandle] = []
        self.stopped: list[FakeHandle] = []
        self.start_delay = 0.0

    async def open(self) -> None:
        self.opened = True

    def check(self, family: str) -> None:
        if family not in self.families:
            raise RuntimeNotInstalled(f"the {family} runtime is not installed", family=family)

    def worker_path(self, snapshot: Path) -> str:
        return str(snapshot)

    async def start(self, family: str) -> FakeHandle:
        self.check(family)
        if self.start_delay:
            await asyncio.sleep(self.start_delay)
        handle = FakeHandle(family, self.adapter)
        self.started.append(handle)
        return handle

    async def stop(self, handle: FakeHandle) -> None:  # type: ignore[override]
        self.stopped.append(handle)
        handle.kill()

    async def close(self) -> None:
        for h in self.started:
            if h.alive():
                await self.stop(h)
