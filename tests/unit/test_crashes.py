"""Crash policy: backoff, failing after repeated crashes, reset by `tollama stop` (fake clock and worker)."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import InProcessRuntime
from litestar.testing import TestClient
from tollama.crashes import CrashTracker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_and_is_capped() -> None:
    clock = Clock()
    t = CrashTracker(clock, window=300, max_crashes=10, base_delay=0.5, max_delay=4)
    assert t.delay("f") == 0
    delays = []
    for _ in range(6):
        t.record("f")
        delays.append(t.delay("f"))
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    clock.now += 3
    assert t.delay("f") == 1.0  # measured from the last crash


def test_failing_after_repeated_crashes_until_the_window_passes() -> None:
    clock = Clock()
    t = CrashTracker(clock, window=60, max_crashes=3)
    for _ in range(2):
        t.record("f", "line 1\nTraceback: boom")
    assert t.failing("f") is None
    t.record("f")
    reason = t.failing("f")
    assert reason is not None and "3 times" in reason and "Traceback: boom" in reason
    assert t.failing_families() == {"f": reason}
    clock.now += 61
    assert t.failing("f") is None and t.delay("f") == 0


_fresh = iter(range(10**6))


def _body() -> dict[str, Any]:
    """A series not asked before: a repeat would be answered by the result cache, without the worker."""
    return {"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3, next(_fresh)]]}


def _kill_and_forecast(client: TestClient[Any], runtime: InProcessRuntime) -> Any:
    runtime.started[-1].kill()
    return client.post("/api/forecast", json=_body())


def test_a_crash_looping_family_is_marked_failing_in_forecast_ps_and_readyz(client: TestClient[Any], runtime: InProcessRuntime,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    scheduler = client.app.state["services"].scheduler
    monkeypatch.setattr(scheduler.crash_policy, "base_delay", 0.01)
    monkeypatch.setattr(scheduler.crash_policy, "max_crashes", 2)
    assert client.post("/api/forecast", json=_body()).status_code == 200
    assert _kill_and_forecast(client, runtime).status_code == 200  # one crash: restarted (after a backoff)
    resp = _kill_and_forecast(client, runtime)  # the second crash in the window: failing
    assert resp.status_code == 503 and resp.json()["code"] == "worker_unavailable"
    assert "crashed 2 times" in resp.json()["error"] and resp.json()["log_tail"] == "fake log tail"
    assert "chronos" in client.get("/api/ps").json()["failing"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["failing"] == ["worker:chronos"]
    starts = len(runtime.started)
    assert client.post("/api/forecast", json=_body()).status_code == 503 and len(runtime.started) == starts  # no restart attempt

    assert client.post("/api/stop", json={"model": "chronos-bolt-tiny"}).status_code == 200  # resets the family
    assert client.get("/api/ps").json()["failing"] == {}
    assert client.post("/api/forecast", json=_body()).status_code == 200
