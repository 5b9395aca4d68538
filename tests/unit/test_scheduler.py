"""Scheduler policy with injected side effects: a fake runtime and a fake clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fakes import HOLD_BYTES, InProcessRuntime
from tollama.errors import Busy, WorkerOutOfMemory
from tollama.scheduler import ModelSpec, Scheduler


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spec(key: str, family: str = "chronos", size: int = 0) -> ModelSpec:
    return ModelSpec(key=key, name=f"{key}:latest", model=key, family=family, path=Path("/nonexistent"), size=size)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime() -> InProcessRuntime:
    return InProcessRuntime()


def make(runtime: InProcessRuntime, clock: Clock, **kw: object) -> Scheduler:
    return Scheduler(runtime, clock=clock, **kw)  # type: ignore[arg-type]


async def use(s: Scheduler, sp: ModelSpec, keep_alive: float | None = 300.0) -> None:
    async with s.lease(sp, keep_alive):
        pass


async def test_ten_concurrent_first_requests_start_and_load_once(runtime: InProcessRuntime, clock: Clock) -> None:
    runtime.start_delay = 0.05
    s = make(runtime, clock)
    await asyncio.gather(*(use(s, spec("m")) for _ in range(10)))
    assert s.starts == 1 and s.loads == 1
    assert runtime.adapter.loads == ["m"]


async def test_keep_alive_expiry_is_reaped(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock)
    await use(s, spec("m"), 300.0)
    clock.now += 299
    assert await s.reap() == 0 and s.is_loaded("m")
    clock.now += 2
    assert await s.reap() == 1 and not s.is_loaded("m")
    assert runtime.stopped, "a worker with no model left is stopped"


async def test_request_keep_alive_overrides_default(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock)
    await use(s, spec("m"), 10.0)
    clock.now += 11
    assert await s.reap() == 1


async def test_keep_alive_zero_unloads_at_once_and_negative_never(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock)
    await use(s, spec("a"), 0.0)
    assert not s.is_loaded("a")
    await use(s, spec("b"), None)
    clock.now += 10**9
    assert await s.reap() == 0 and s.is_loaded("b")


async def test_models_in_use_are_never_reaped_or_evicted(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock, max_loaded_models=1)
    async with s.lease(spec("busy"), 1.0):
        clock.now += 100
        assert await s.reap() == 0 and s.is_loaded("busy")
        waiter = asyncio.ensure_future(use(s, spec("other")))
        await asyncio.sleep(0.05)
        assert not waiter.done(), "no idle model to evict: the new load waits"
    await waiter
    assert s.is_loaded("other") and not s.is_loaded("busy")


async def test_lru_idle_model_is_evicted_for_max_loaded(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock, max_loaded_models=2)
    await use(s, spec("a"))
    clock.now += 1
    await use(s, spec("b"))
    clock.now += 1
    await use(s, spec("a"))
    await use(s, spec("c"))
    assert {sl.spec.key for sl in s.loaded()} == {"a", "c"}


async def test_memory_budget_evicts_before_loading(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock, max_loaded_models=0, memory_budget=int(2.5 * HOLD_BYTES))
    await use(s, spec("a", size=HOLD_BYTES))  # each fake model really holds HOLD_BYTES
    await use(s, spec("b", size=HOLD_BYTES))
    await use(s, spec("c", size=HOLD_BYTES))
    assert len(s.loaded()) == 2
    assert all(0.9 * HOLD_BYTES <= sl.memory <= 1.5 * HOLD_BYTES for sl in s.loaded())  # measured by the worker


async def test_estimate_learns_the_family_factor_from_measurements(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock, max_loaded_models=0)
    assert s.estimator.estimate("x", "chronos", HOLD_BYTES // 4) == int(HOLD_BYTES // 4 * 1.2)  # the default factor
    await use(s, spec("a", size=HOLD_BYTES // 2))  # measured ~2x its registry size
    factor = s.estimator.estimate("x", "chronos", HOLD_BYTES // 4) / (HOLD_BYTES // 4)
    assert 1.8 <= factor <= 2.6, factor
    await use(s, spec("b", size=HOLD_BYTES // 64))  # ~64x: the learned factor is capped
    assert s.estimator.estimate("y", "chronos", 1000) == 3000
    assert s.estimator.estimate("a", "chronos", 1) == s.loaded()[0].memory  # the same model: its own measurement


async def test_a_model_larger_than_the_budget_is_refused_naming_it(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock, max_loaded_models=0, memory_budget=HOLD_BYTES)
    with pytest.raises(WorkerOutOfMemory) as err:
        await use(s, spec("big", size=HOLD_BYTES))  # estimate 1.2x > budget
    assert err.value.details == {"model": "big:latest", "estimate": int(HOLD_BYTES * 1.2), "budget": HOLD_BYTES}
    assert "big:latest" in err.value.message and not s.loaded()


async def test_models_in_use_are_never_evicted_the_load_is_refused(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock, max_loaded_models=0, memory_budget=int(1.8 * HOLD_BYTES))
    async with s.lease(spec("a", size=HOLD_BYTES), 300):
        with pytest.raises(WorkerOutOfMemory) as err:
            await use(s, spec("b", size=HOLD_BYTES))  # estimate ~HOLD_BYTES: with a in use, over the budget
        assert "in use" in err.value.message
        assert [sl.spec.key for sl in s.loaded()] == ["a"]


async def test_queue_bound_answers_busy(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock, max_queue=1)
    async with s.lease(spec("a"), 300.0):
        with pytest.raises(Busy) as info:
            async with s.lease(spec("a"), 300.0):
                pass
    assert info.value.retry_after >= 1


async def test_dead_worker_is_replaced_on_next_request(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock)
    await use(s, spec("a"))
    runtime.started[0].kill()
    await use(s, spec("a"))
    assert s.starts == 2 and s.loads == 2


async def test_stop_while_in_use_unloads_at_release(runtime: InProcessRuntime, clock: Clock) -> None:
    s = make(runtime, clock)
    async with s.lease(spec("a"), None):
        assert await s.stop_model("a") is True
        assert s.is_loaded("a")
    assert not s.is_loaded("a")


async def test_background_reaper_is_not_lazy(runtime: InProcessRuntime) -> None:
    s = Scheduler(runtime)
    s.start_reaper()
    try:
        await use(s, spec("a"), 0.05)
        for _ in range(100):
            if not s.is_loaded("a"):
                break
            await asyncio.sleep(0.02)
        assert not s.is_loaded("a"), "the reaper unloads without any further request"
    finally:
        await s.close()
