"""The scheduler: Ollama's policy, made explicit.

- a bounded queue: more than ``max_queue`` requests in flight → :class:`~tollama.errors.Busy` (503);
- single-flight start per family and load per model (ten concurrent first requests load once);
- a refcount per loaded model so nothing in use is evicted or unloaded;
- ``keep_alive`` per request: idle models expire; a background reaper (not lazy) unloads them
  and stops a worker once it holds no model;
- ``max_loaded_models`` and a memory budget with a pre-load estimate; eviction picks the
  least recently used idle model.

Side effects are injected (the runtime and the clock) so this is unit-tested without processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tollama_kit import protocol as wire

from tollama.crashes import CrashTracker
from tollama.errors import Busy, TollamaError, WorkerOutOfMemory, WorkerUnavailable
from tollama.memory import Estimator
from tollama.runtime.base import Runtime, WorkerHandle
from tollama.runtime.handshake import handshake
from tollama.worker_client import WorkerCalls, WorkerGone

log = logging.getLogger("tollama.scheduler")


@dataclass(frozen=True)
class ModelSpec:
    key: str  # manifest digest: what the worker knows the model by
    name: str  # "name:tag"
    model: str  # registry model name
    family: str
    path: Path  # snapshot directory
    size: int = 0
    device: str = "auto"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Slot:
    spec: ModelSpec
    worker: _Worker
    device: str = "cpu"
    memory: int = 0  # bytes it counts against the budget (measured when the worker measured it)
    vram: int = 0  # of which on a CUDA device
    refcount: int = 0
    keep_alive: float | None = None  # the last lease's (validated); set before the slot is ever shown
    expires_at: float | None = None  # clock time; None = never (or in use)
    last_used: float = 0.0
    stopping: bool = False  # `tollama stop` asked while in use: unload at release


@dataclass
class _Worker:
    family: str
    handle: WorkerHandle
    slots: dict[str, Slot] = field(default_factory=dict)


@dataclass
class Lease:
    client: WorkerCalls
    key: str
    device: str
    load_ms: float
    queue_ms: float


class Scheduler:
    def __init__(
        self,
        runtime: Runtime,
        *,
        max_loaded_models: int = 3,
        max_queue: int = 512,
        memory_budget: int = 0,
        vram_budget: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.max_loaded_models = max_loaded_models
        self.max_queue = max_queue
        self.memory_budget = memory_budget
        self.vram_budget = vram_budget
        self.estimator = Estimator()
        self.crash_policy = CrashTracker(clock)
        self.clock = clock
        self._workers: dict[str, _Worker] = {}
        self._slots: dict[str, Slot] = {}
        self._start_locks: dict[str, asyncio.Lock] = {}
        self._load_locks: dict[str, asyncio.Lock] = {}
        self._changed = asyncio.Event()
        self._wake_at = math.inf  # when the reaper next wakes by itself (inf: not waiting)
        self._idle = asyncio.Condition()
        self._in_flight = 0
        self._reaper: asyncio.Task[None] | None = None
        self.starts = 0  # workers started (observable in tests)
        self.loads = 0  # models loaded
        # Per-family / per-model counts read by the metrics at scrape time (no metrics library here).
        self.family_starts: Counter[str] = Counter()
        self.crashes: Counter[str] = Counter()  # a worker found dead (process exited / transport gone)
        self.restarts: Counter[str] = Counter()  # a start of a family whose previous worker crashed
        self.in_flight: Counter[str] = Counter()  # requests waiting or running, by model name

    # -- lifecycle ----------------------------------------------------------------------
    def start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever(), name="tollama-reaper")

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for worker in list(self._workers.values()):
            await self._stop_worker(worker)
        await self.runtime.close()

    # -- the one entry point ------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lease(self, spec: ModelSpec, keep_alive: float | None, on_event: Callable[[str], None] | None = None) -> AsyncIterator[Lease]:
        """Hold ``spec`` loaded for one request; at release it stays ``keep_alive`` seconds (validated; None = forever)."""
        if self._in_flight >= self.max_queue:
            raise Busy(f"{self._in_flight} requests are already queued (TOLLAMA_MAX_QUEUE={self.max_queue}); retry shortly", retry_after=1)
        self._in_flight += 1
        self.in_flight[spec.name] += 1
        t0 = self.clock()
        slot: Slot | None = None
        try:
            slot, load_ms = await self._acquire(spec, on_event)
            slot.keep_alive = keep_alive
            queue_ms = max(0.0, (self.clock() - t0) * 1000 - load_ms)
            yield Lease(client=slot.worker.handle.client, key=spec.key, device=slot.device, load_ms=load_ms, queue_ms=queue_ms)
        except WorkerGone:
            if slot is not None:
                await self._forget_worker(slot.worker)
            raise
        finally:
            self._in_flight -= 1
            self.in_flight[spec.name] -= 1
            if slot is not None:
                await self._release(slot, keep_alive)

    async def _acquire(self, spec: ModelSpec, on_event: Callable[[str], None] | None) -> tuple[Slot, float]:
        slot = self._slots.get(spec.key)
        if slot is not None and slot.worker.handle.alive():
            slot.refcount += 1
            slot.expires_at = None
            return slot, 0.0
        lock = self._load_locks.setdefault(spec.key, asyncio.Lock())
        async with lock:
            slot = self._slots.get(spec.key)
            if slot is not None and not slot.worker.handle.alive():
                await self._forget_worker(slot.worker)
                slot = None
            if slot is not None:
                slot.refcount += 1
                slot.expires_at = None
                return slot, 0.0
            if on_event:
                on_event("loading")
            await self._make_room(spec)
            worker = await self._worker(spec.family)
            t = self.clock()
            resp = await worker.handle.client.load(
                wire.LoadRequest(key=spec.key, name=spec.model, path=self.runtime.worker_path(spec.path), device=spec.device,
                                 options={k: v for k, v in spec.options.items() if isinstance(v, (str, int, float, bool))})
            )
            load_ms = (self.clock() - t) * 1000
            measured = resp.rss_bytes + resp.vram_bytes
            memory = measured or resp.memory_bytes or spec.size
            self.estimator.measured(spec.key, spec.family, spec.size, memory)
            slot = Slot(spec=spec, worker=worker, device=resp.device, memory=memory, vram=resp.vram_bytes, refcount=1, last_used=self.clock())
            worker.slots[spec.key] = slot
            self._slots[spec.key] = slot
            self.loads += 1
            return slot, load_ms

    async def _worker(self, family: str) -> _Worker:
        worker = self._workers.get(family)
        if worker is not None and worker.handle.alive():
            return worker
        async with self._start_locks.setdefault(family, asyncio.Lock()):
            worker = self._workers.get(family)
            if worker is not None and not worker.handle.alive():
                await self._forget_worker(worker)
                worker = None
            if worker is None:
                reason = self.crash_policy.failing(family)
                if reason is not None:
                    raise WorkerUnavailable(reason, family=family, log_tail=self.crash_policy.log_tail(family) or None)
                wait = self.crash_policy.delay(family)
                if wait > 0:
                    log.info("restarting the %s worker in %.1fs (backoff after a crash)", family, wait)
                    await asyncio.sleep(wait)
                try:
                    handle = await self.runtime.start(family)
                except WorkerUnavailable as exc:
                    self.crash_policy.record(family, str(exc.details.get("log_tail") or ""))
                    self.crashes[family] += 1
                    raise
                try:
                    await handshake(handle, self.runtime.name)
                except BaseException:
                    await self.runtime.stop(handle)
                    raise
                self.starts += 1
                self.family_starts[family] += 1
                if self.crashes[family]:
                    self.restarts[family] += 1
                worker = _Worker(family=family, handle=handle)
                self._workers[family] = worker
            return worker

    async def _release(self, slot: Slot, keep_alive: float | None) -> None:
        slot.refcount -= 1
        slot.last_used = self.clock()
        slot.keep_alive = 0 if slot.stopping else keep_alive
        keep_alive = slot.keep_alive
        if slot.refcount == 0:
            slot.expires_at = None if keep_alive is None else self.clock() + keep_alive
            if keep_alive == 0:
                await self._unload(slot)
            async with self._idle:
                self._idle.notify_all()
        if slot.expires_at is not None and slot.expires_at < self._wake_at:
            self._changed.set()  # else the reaper's own wake-up comes first: no task switch per request

    # -- eviction -----------------------------------------------------------------------
    def _budget(self, spec: ModelSpec) -> tuple[str, int, int, int]:
        """(setting, budget, in use, estimate) of the memory the model would be loaded into."""
        estimate = self.estimator.estimate(spec.key, spec.family, spec.size)
        if spec.device.startswith("cuda"):  # 0: no gateway-side bound on a GPU
            return "TOLLAMA_VRAM_BUDGET", self.vram_budget, sum(s.vram for s in self._slots.values()), estimate
        used = sum(s.memory - s.vram for s in self._slots.values())
        return "TOLLAMA_MEMORY_BUDGET", self.memory_budget, used, estimate

    def _over(self, spec: ModelSpec) -> bool:
        if self.max_loaded_models and len(self._slots) >= self.max_loaded_models:
            return True
        _, budget, used, estimate = self._budget(spec)
        return bool(budget) and bool(self._slots) and used + estimate > budget

    async def _make_room(self, spec: ModelSpec) -> None:
        setting, budget, _, estimate = self._budget(spec)
        if budget and estimate > budget:
            raise WorkerOutOfMemory(
                f"{spec.name} needs about {estimate} bytes (estimate), more than {setting}={budget}",
                model=spec.name, estimate=estimate, budget=budget,
            )
        while self._over(spec):
            idle = [s for s in self._slots.values() if s.refcount == 0]
            if idle:
                victim = min(idle, key=lambda s: s.last_used)
                log.info("evicting %s to make room for %s", victim.spec.name, spec.name)
                await self._unload(victim)
                continue
            setting, budget, used, estimate = self._budget(spec)
            if budget and used + estimate > budget:  # only models in use are left: never evicted
                raise WorkerOutOfMemory(
                    f"{spec.name} needs about {estimate} bytes (estimate) and {used} of {setting}={budget} are held by models in use",
                    model=spec.name, estimate=estimate, budget=budget, in_use=used,
                )
            async with self._idle:
                await self._idle.wait()

    async def _unload(self, slot: Slot) -> None:
        self._slots.pop(slot.spec.key, None)
        slot.worker.slots.pop(slot.spec.key, None)
        if slot.worker.handle.alive():
            with contextlib.suppress(TollamaError):
                await slot.worker.handle.client.unload(slot.spec.key)
        if not slot.worker.slots:
            await self._stop_worker(slot.worker)

    async def _stop_worker(self, worker: _Worker) -> None:
        if self._workers.get(worker.family) is worker:
            del self._workers[worker.family]
        with contextlib.suppress(TollamaError, OSError):
            await self.runtime.stop(worker.handle)

    async def _forget_worker(self, worker: _Worker) -> None:
        """A worker died: drop its models (they are gone) and reap the process/container."""
        if self._workers.get(worker.family) is worker:
            self.crashes[worker.family] += 1
            self.crash_policy.record(worker.family, worker.handle.log_tail())
        for key in list(worker.slots):
            self._slots.pop(key, None)
        worker.slots.clear()
        await self._stop_worker(worker)

    # -- expiry -------------------------------------------------------------------------
    async def reap(self) -> int:
        """Unload every idle model whose keep_alive ran out, and forget dead workers."""
        now = self.clock()
        count = 0
        for slot in list(self._slots.values()):
            if slot.refcount == 0 and slot.expires_at is not None and slot.expires_at <= now:
                await self._unload(slot)
                count += 1
        for worker in list(self._workers.values()):
            if not worker.handle.alive() and not any(s.refcount for s in worker.slots.values()):
                await self._forget_worker(worker)
        return count

    def next_expiry(self) -> float | None:
        times = [s.expires_at for s in self._slots.values() if s.refcount == 0 and s.expires_at is not None]
        return min(times) if times else None

    async def _reap_forever(self) -> None:
        while True:
            self._changed.clear()
            nxt = self.next_expiry()
            timeout = 5.0 if nxt is None else max(0.0, min(5.0, nxt - self.clock()))
            self._wake_at = self.clock() + timeout
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=timeout)
            self._wake_at = math.inf
            try:
                await self.reap()
            except Exception:
                log.exception("reaper failed")

    # -- on demand ----------------------------------------------------------------------
    async def stop_model(self, key: str) -> bool:
        """Unload now if idle, else as soon as its last request finishes."""
        slot = self._slots.get(key)
        if slot is None:
            return False
        slot.stopping = True
        if slot.refcount == 0:
            await self._unload(slot)
        return True

    def serving(self, family: str) -> bool:
        """Whether a live worker of ``family`` is up (its runtime needs no check before a request)."""
        worker = self._workers.get(family)
        return worker is not None and worker.handle.alive()

    def running(self) -> dict[str, WorkerHandle]:
        """The workers started and not yet stopped, by family."""
        return {family: w.handle for family, w in self._workers.items()}

    def loaded(self) -> list[Slot]:
        return list(self._slots.values())

    def is_loaded(self, key: str) -> bool:
        return key in self._slots
