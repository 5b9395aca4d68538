"""The worker core: the models an adapter holds and micro-batched forecasting.

Mechanism only, no policy: the gateway decides what to load, when to unload.
All adapter calls run on one thread, one at a time. Concurrent forecast requests for
the same model that share horizon, quantiles, frequency and options are fused into
one adapter call while the previous call runs ("batch while busy": no added latency
when the worker is idle).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tollama_kit import protocol as wire
from tollama_kit.adapter import Adapter, ForecastInput, ForecastOutput, Loaded
from tollama_kit.arrays import to_input, to_wire
from tollama_kit.devices import cuda_allocated_bytes, process_rss_bytes, release_memory, resolve_device
from tollama_kit.errors import BadInput, KitError, ModelNotLoaded, map_adapter_errors

T = TypeVar("T")


@dataclass
class _Held:
    info: wire.LoadedModel
    loaded: Loaded


@dataclass
class _Pending:
    batch: wire.ForecastBatch
    future: asyncio.Future[wire.ForecastResult]


@dataclass
class _Queue:
    pending: list[_Pending] = field(default_factory=list)
    draining: bool = False


class _AdapterThread:
    """The one thread that runs every adapter call, one at a time, in submission order.

    A hand-off costs one queue put and one event-loop wake-up (about a third of a
    ``ThreadPoolExecutor`` round trip, which matters next to a 1 ms forecast). The thread
    starts on first use; :meth:`close` cancels what has not started and lets it exit.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any], asyncio.AbstractEventLoop] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._closed = False

    def run(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        if self._closed:
            raise RuntimeError("the adapter thread is closed")
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, future, loop))
        return future

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, future, loop = item
            if future.cancelled():
                continue
            try:
                result, error = fn(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine, as an executor does
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, result, error)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(queue.Empty, RuntimeError):  # RuntimeError: a closed loop holds nobody waiting
            while (item := self._queue.get_nowait()) is not None:
                item[2].call_soon_threadsafe(item[1].cancel)
        self._queue.put(None)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _compatible(a: wire.ForecastBatch, b: wire.ForecastBatch) -> bool:
    return a.horizon == b.horizon and a.quantiles == b.quantiles and a.freq == b.freq and a.options == b.options


class Worker:
    def __init__(self, adapter: Adapter, *, max_batch_series: int = 1024) -> None:
        self.adapter = adapter
        self.max_batch_series = max_batch_series
        self._models: dict[str, _Held] = {}
        self._adapter_thread = _AdapterThread(f"{adapter.family}-adapter")
        self._load_locks: dict[str, asyncio.Lock] = {}
        self._queues: dict[str, _Queue] = {}
        self._versions = adapter.describe()

    # -- info ---------------------------------------------------------------------------
    def health(self) -> wire.Health:
        return wire.Health(family=self.adapter.family)

    def info(self) -> wire.Info:
        devices = {held.info.device for held in self._models.values()}
        return wire.Info(
            family=self.adapter.family,
            versions=self._versions,
            device=",".join(sorted(devices)) or "cpu",
            memory_bytes=process_rss_bytes(),
            loaded=[held.info for held in self._models.values()],
        )

    async def _run(self, fn: Callable[[], T]) -> T:
        return await self._adapter_thread.run(fn)

    # -- load / unload ------------------------------------------------------------------
    async def load(self, req: wire.LoadRequest) -> wire.LoadResponse:
        lock = self._load_locks.setdefault(req.key, asyncio.Lock())
        async with lock:
            held = self._models.get(req.key)
            if held is not None:
                return wire.LoadResponse(
                    key=req.key, device=held.info.device, memory_bytes=held.info.memory_bytes, already_loaded=True,
                    rss_bytes=held.info.rss_bytes, vram_bytes=held.info.vram_bytes,
                )
            device = resolve_device(req.device)
            start = time.perf_counter()

            def _load() -> tuple[Loaded, int, int]:
                # Measured in the adapter thread, where loads and forecasts run one at a time.
                rss0, vram0 = process_rss_bytes(), cuda_allocated_bytes(device)
                with map_adapter_errors("load"):
                    loaded = self.adapter.load(req.name, req.path, device, dict(req.options))
                rss = max(0, process_rss_bytes() - rss0)
                vram = max(0, cuda_allocated_bytes(loaded.device) - vram0)
                return loaded, rss, vram

            loaded, rss, vram = await self._run(_load)
            load_ms = (time.perf_counter() - start) * 1000
            info = wire.LoadedModel(
                key=req.key, name=req.name, device=loaded.device, memory_bytes=loaded.memory_bytes, loaded_at=time.time(),
                rss_bytes=rss, vram_bytes=vram,
            )
            self._models[req.key] = _Held(info=info, loaded=loaded)
            return wire.LoadResponse(
                key=req.key, device=loaded.device, memory_bytes=loaded.memory_bytes, load_ms=load_ms, rss_bytes=rss, vram_bytes=vram
            )

    async def unload(self, req: wire.UnloadRequest) -> wire.UnloadResponse:
        held = self._models.pop(req.key, None)
        if held is None:
            return wire.UnloadResponse(key=req.key, unloaded=False)

        def _unload() -> None:
            with map_adapter_errors("unload"):
                self.adapter.unload(held.loaded)
            release_memory()

        await self._run(_unload)
        return wire.UnloadResponse(key=req.key, unloaded=True)

    # -- forecast -----------------------------------------------------------------------
    async def forecast(self, batch: wire.ForecastBatch) -> wire.ForecastResult:
        if batch.key not in self._models:
            raise ModelNotLoaded(f"model {batch.key!r} is not loaded in the {self.adapter.family} worker")
        if not batch.series:
            raise BadInput("a forecast batch needs at least one series")
        queue = self._queues.setdefault(batch.key, _Queue())
        future: asyncio.Future[wire.ForecastResult] = asyncio.get_running_loop().create_future()
        queue.pending.append(_Pending(batch, future))
        if not queue.draining:
            queue.draining = True
            asyncio.get_running_loop().create_task(self._drain(batch.key, queue))
        return await future

    async def _drain(self, key: str, queue: _Queue) -> None:
        try:
            while queue.pending:
                first = queue.pending[0]
                group = [first]
                n_series = len(first.batch.series)
                for item in queue.pending[1:]:
                    if _compatible(first.batch, item.batch) and n_series + len(item.batch.series) <= self.max_batch_series:
                        group.append(item)
                        n_series += len(item.batch.series)
                for item in group:
                    queue.pending.remove(item)
                await self._serve_group(key, group)
        finally:
            queue.draining = False

    async def _serve_group(self, key: str, group: list[_Pending]) -> None:
        try:
            results = await self._forecast_fused(key, [p.batch for p in group])
        except KitError as exc:
            if len(group) == 1:
                group[0].future.set_exception(exc)
                return
            # One bad request must not fail the others it was fused with: serve each alone.
            for item in group:
                try:
                    (result,) = await self._forecast_fused(key, [item.batch])
                    item.future.set_result(result)
                except KitError as one_exc:
                    item.future.set_exception(one_exc)
            return
        for item, result in zip(group, results, strict=True):
            item.future.set_result(result)

    async def _forecast_fused(self, key: str, batches: list[wire.ForecastBatch]) -> list[wire.ForecastResult]:
        held = self._models.get(key)
        if held is None:
            raise ModelNotLoaded(f"model {key!r} was unloaded before its forecast ran")
        first = batches[0]
        inputs = [to_input(b) for b in batches]
        fused = ForecastInput(
            horizon=first.horizon,
            quantiles=tuple(first.quantiles),
            series=[s for inp in inputs for s in inp.series],
            freq=first.freq,
            options=dict(first.options),
            groups=tuple(k for k, inp in enumerate(inputs) for _ in inp.series),
        )

        def _call() -> tuple[ForecastOutput, list[wire.SeriesForecast], float]:
            start = time.perf_counter()
            with map_adapter_errors("forecast"):
                out = self.adapter.forecast(held.loaded, fused)
                if len(out.series) != len(fused.series):
                    raise ValueError(f"adapter returned {len(out.series)} series for {len(fused.series)}")
                encoded = [to_wire(s, first.horizon, len(first.quantiles)) for s in out.series]
            return out, encoded, (time.perf_counter() - start) * 1000

        out, encoded, inference_ms = await self._run(_call)
        results = []
        offset = 0
        for inp in inputs:
            n = len(inp.series)
            own = [w for s in out.series[offset : offset + n] for w in s.warnings]
            results.append(
                wire.ForecastResult(
                    series=encoded[offset : offset + n],
                    quantiles=list(first.quantiles),
                    device=held.info.device,
                    inference_ms=inference_ms,
                    batch_size=len(batches),
                    warnings=[*out.warnings, *own],
                )
            )
            offset += n
        return results

    def close(self) -> None:
        self._adapter_thread.close()
