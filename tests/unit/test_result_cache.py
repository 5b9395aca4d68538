"""The result cache: the byte-bounded LRU itself, its setting, and the forecast path's use of it
(over the in-process fake worker, whose adapter records every forecast call it serves)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import install_fake
from fakes import InProcessRuntime
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.registry import Capabilities
from tollama.result_cache import ENTRY_OVERHEAD, ResultCache, cacheable, key_of
from tollama.settings import SettingError, Settings, describe
from tollama_kit import protocol as wire


def _result(n_bytes: int, tag: str = "s") -> wire.ForecastResult:
    return wire.ForecastResult(series=[wire.SeriesForecast(id=tag, mean=b"\0" * n_bytes, quantiles=b"")], quantiles=[0.5], device="cpu", inference_ms=1.5)


def _size(key: bytes, result: wire.ForecastResult) -> int:
    return len(key) + len(wire.encode(result)) + ENTRY_OVERHEAD


# -- the LRU ------------------------------------------------------------------------------------

def test_get_returns_an_equal_fresh_copy_and_counts() -> None:
    cache = ResultCache(10_000)
    k = key_of(b"payload")
    assert cache.get(k) is None
    cache.put(k, _result(40))
    got = cache.get(k)
    assert got == _result(40) and got is not cache.get(k)  # each hit decodes its own object
    assert (cache.stats.hits, cache.stats.misses, cache.stats.entries) == (2, 1, 1)
    assert cache.stats.bytes == _size(k, _result(40))


def test_byte_bound_evicts_least_recently_used_first() -> None:
    one = _size(key_of(b"a"), _result(100, "a"))
    cache = ResultCache(3 * one)  # room for exactly three entries
    a, b, c, d = (key_of(x) for x in (b"a", b"b", b"c", b"d"))
    for k in (a, b, c):
        cache.put(k, _result(100, "a"))
    assert cache.stats.bytes == 3 * one and cache.stats.evictions == 0
    assert cache.get(a) is not None  # a becomes the most recent: b is now the oldest
    cache.put(d, _result(100, "a"))
    assert cache.keys() == [c, a, d] and cache.get(b) is None
    assert cache.stats.evictions == 1 and cache.stats.bytes == 3 * one <= cache.max_bytes
    big = _result(2 * 100 + 2 * ENTRY_OVERHEAD, "a")  # needs two slots: evicts the two oldest
    cache.put(b, big)
    assert cache.keys() == [d, b] and cache.stats.evictions == 3
    assert cache.stats.bytes == one + _size(b, big) <= cache.max_bytes


def test_an_entry_over_the_whole_bound_is_not_stored_and_evicts_nothing() -> None:
    cache = ResultCache(1000)
    small = key_of(b"s")
    cache.put(small, _result(10))
    cache.put(key_of(b"huge"), _result(2000))
    assert cache.keys() == [small] and cache.stats.evictions == 0


def test_replacing_a_key_keeps_the_byte_count_exact() -> None:
    cache = ResultCache(10_000)
    k = key_of(b"k")
    cache.put(k, _result(100))
    cache.put(k, _result(300))
    assert cache.stats.entries == 1 and cache.stats.bytes == _size(k, _result(300))


def test_zero_disables() -> None:
    cache = ResultCache(0)
    assert not cache.enabled
    cache.put(key_of(b"x"), _result(1))
    assert cache.keys() == [] and cache.stats.bytes == 0
    with pytest.raises(ValueError, match=">= 0"):
        ResultCache(-1)


def test_sampling_models_are_cacheable_only_with_a_seed() -> None:
    det = Capabilities(max_context=10, max_horizon=10)
    sampling = Capabilities(max_context=10, max_horizon=10, sampling=True)
    assert cacheable(det, {}) and cacheable(sampling, {"seed": 0}) and not cacheable(sampling, {"num_samples": 20})


# -- the setting ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("1000", 1000), ("64MiB", 64 * 2**20), ("1.5GB", 1_500_000_000)])
def test_cache_bytes_setting(raw: str, expected: int) -> None:
    assert Settings.from_env({"TOLLAMA_CACHE_BYTES": raw}).cache_max_bytes == expected


@pytest.mark.parametrize("raw", ["auto", "-1", "lots", "64 parsecs"])
def test_cache_bytes_setting_refuses(raw: str) -> None:
    with pytest.raises(SettingError, match=f"TOLLAMA_CACHE_BYTES='{raw}' is not accepted"):
        Settings.from_env({"TOLLAMA_CACHE_BYTES": raw})
    with pytest.raises(ValueError, match="TOLLAMA_CACHE_BYTES"):
        Settings(cache_bytes=raw)


def test_cache_bytes_default_is_modest_and_listed() -> None:
    assert 0 < Settings().cache_max_bytes <= 256 * 2**20
    assert any(row[0] == "TOLLAMA_CACHE_BYTES" for row in describe(Settings()))


# -- the forecast path (fake worker) -------------------------------------------------------------

TINY = "chronos-bolt-tiny"  # deterministic (registry: no sampling)
T5 = "chronos-t5-tiny"  # registry: sampling, seeded by its defaults
SUNDIAL = "sundial-base-128m"  # registry: sampling, no default seed
BODY: dict[str, Any] = {"model": TINY, "horizon": 3, "series": [{"id": "a", "target": [1.0, 2.0, 3.0, 4.0]}]}


def _metric(client: TestClient[Any], name: str, labels: str = "") -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f"{name}{labels} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{labels} not in /metrics")


def _hits(client: TestClient[Any]) -> float:
    return _metric(client, "tollama_result_cache_lookups_total", '{result="hit"}')


def test_a_repeat_is_served_without_a_worker_call(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    first = client.post("/api/forecast", json=BODY).json()
    calls = len(runtime.adapter.calls)
    again = client.post("/api/forecast", json=BODY).json()
    assert len(runtime.adapter.calls) == calls  # no worker call
    assert first["cached"] is False and again["cached"] is True
    assert again["forecasts"] == first["forecasts"] and again["digest"] == first["digest"]
    assert again["inference_ms"] == first["inference_ms"] and again["load_ms"] == again["queue_ms"] == 0
    assert _hits(client) == 1 and _metric(client, "tollama_result_cache_lookups_total", '{result="miss"}') == 1
    assert _metric(client, "tollama_result_cache_entries") == 1 and _metric(client, "tollama_result_cache_bytes") > 0
    labels = '{model="chronos-bolt-tiny:latest"}'  # a hit leased no worker: served batches count the miss only
    assert _metric(client, "tollama_worker_batch_series_count", labels) == 1
    assert _metric(client, "tollama_queue_wait_seconds_count", labels) == 1
    assert _metric(client, "tollama_forecast_requests_total", '{model="chronos-bolt-tiny:latest",status="200"}') == 2


@pytest.mark.parametrize("change", [
    {"horizon": 4},
    {"quantiles": [0.2, 0.8]},
    {"options": {"context_length": 2}},
    {"options": {"scaling": "none"}},
    {"series": [{"id": "a", "target": [1.0, 2.0, 3.0, 5.0]}]},
    {"series": [{"id": "b", "target": [1.0, 2.0, 3.0, 4.0]}]},
    {"freq": "D", "series": [{"id": "a", "target": [1.0, 2.0, 3.0, 4.0], "start": "2024-01-01"}]},
    {"model": "chronos-2"},
])
def test_anything_the_worker_sees_changes_the_key(client: TestClient[Any], runtime: InProcessRuntime, change: dict[str, Any]) -> None:
    client.post("/api/forecast", json=BODY).raise_for_status()
    calls = len(runtime.adapter.calls)
    resp = client.post("/api/forecast", json={**BODY, **change})
    assert resp.status_code == 200, resp.text
    assert resp.json()["cached"] is False and len(runtime.adapter.calls) == calls + 1


def test_what_the_worker_never_sees_does_not_change_the_key(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    """A static covariate the model cannot take is dropped (best_effort, with a warning): the same batch goes out."""
    client.post("/api/forecast", json=BODY).raise_for_status()
    resp = client.post("/api/forecast", json={**BODY, "series": [{**BODY["series"][0], "static_covariates": {"k": 1.0}}]}).json()
    assert resp["cached"] is True and any("static" in w for w in resp["warnings"]), resp["warnings"]


def test_a_hit_rebuilds_timestamps_and_metrics_from_this_request(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    series = {"id": "a", "target": [1.0, 2.0, 3.0, 4.0], "start": "2024-01-01", "freq": "D"}
    client.post("/api/forecast", json={**BODY, "series": [series]}).raise_for_status()
    calls = len(runtime.adapter.calls)
    resp = client.post("/api/forecast", json={**BODY, "series": [{**series, "start": "2025-01-01", "actuals": [4.0, 5.0, 6.0]}]}).json()
    assert resp["cached"] is True and len(runtime.adapter.calls) == calls
    f = resp["forecasts"][0]
    assert f["timestamps"] == ["2025-01-05", "2025-01-06", "2025-01-07"]
    assert f["metrics"]["MASE"] == pytest.approx((0 + 1 + 2) / 3 / 1.0)  # last-value forecast 4 vs 4, 5, 6; naive scale 1


def test_sampling_model_without_seed_never_caches_and_with_seed_does(tmp_path: Path) -> None:
    runtime = InProcessRuntime(families=("chronos", "sundial"))
    app = create_app(Settings(home=tmp_path / "home"), runtime=runtime)
    install_fake(app.state["services"].store, SUNDIAL, "sundial")
    install_fake(app.state["services"].store, T5, "chronos")
    body = {**BODY, "model": SUNDIAL}
    with TestClient(app) as c:
        for _ in range(2):
            assert c.post("/api/forecast", json=body).json()["cached"] is False
        assert len(runtime.adapter.calls) == 2
        assert _metric(c, "tollama_result_cache_lookups_total", '{result="bypass"}') == 2
        seeded = {**body, "options": {"seed": 7}}
        assert c.post("/api/forecast", json=seeded).json()["cached"] is False
        assert c.post("/api/forecast", json=seeded).json()["cached"] is True and len(runtime.adapter.calls) == 3
        assert c.post("/api/forecast", json={**body, "options": {"seed": 8}}).json()["cached"] is False
        # Chronos T5 samples too, but its registry defaults seed it (seed 0): its answers are reproducible
        t5 = {**BODY, "model": T5}
        assert [c.post("/api/forecast", json=t5).json()["cached"] for _ in range(2)] == [False, True]
        assert runtime.adapter.options_seen[-1]["seed"] == 0


def test_a_recreated_model_has_a_new_digest_and_misses(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    def create(text: str) -> None:
        r = client.post("/api/create", json={"model": "mine", "modelfile": text, "stream": False})
        assert r.status_code == 200, r.text

    create(f"FROM {TINY}\nPARAM scaling standard\n")
    body = {**BODY, "model": "mine"}
    first = client.post("/api/forecast", json=body).json()
    assert client.post("/api/forecast", json=body).json()["cached"] is True
    create(f"FROM {TINY}\nPARAM scaling minmax\n")
    calls = len(runtime.adapter.calls)
    again = client.post("/api/forecast", json=body).json()
    assert again["digest"] != first["digest"] and again["cached"] is False and len(runtime.adapter.calls) == calls + 1


def test_a_hit_still_applies_keep_alive_zero_to_the_loaded_model(client: TestClient[Any]) -> None:
    client.post("/api/forecast", json=BODY).raise_for_status()
    assert len(client.get("/api/ps").json()["models"]) == 1
    resp = client.post("/api/forecast", json={**BODY, "keep_alive": 0}).json()
    assert resp["cached"] is True and client.get("/api/ps").json()["models"] == []
    assert client.post("/api/forecast", json=BODY).json()["cached"] is True  # and a hit never loads it again
    assert client.get("/api/ps").json()["models"] == []


def test_streams_ensembles_and_evaluations_share_it(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    client.post("/api/forecast", json=BODY).raise_for_status()
    calls = len(runtime.adapter.calls)
    lines = client.post("/api/forecast", json={**BODY, "stream": True}).text.strip().splitlines()
    assert '"cached":true' in lines[-1] and len(runtime.adapter.calls) == calls
    r = client.post("/api/create", json={"model": "ens", "modelfile": f"ENSEMBLE {TINY} chronos-2\n", "stream": False})
    assert r.status_code == 200, r.text
    assert client.post("/api/forecast", json={**BODY, "model": "ens"}).json()["cached"] is False  # chronos-2 was not asked yet
    calls = len(runtime.adapter.calls)
    assert client.post("/api/forecast", json={**BODY, "model": "ens"}).json()["cached"] is True and len(runtime.adapter.calls) == calls
    ev = {"models": [TINY], "series": [{"id": "a", "target": [float(v % 5) for v in range(30)]}], "horizon": 3, "windows": 2}
    first = client.post("/api/evaluate", json=ev).json()
    calls = len(runtime.adapter.calls)
    assert client.post("/api/evaluate", json=ev).json()["leaderboard"] == first["leaderboard"] and len(runtime.adapter.calls) == calls


def test_zero_bytes_turns_it_off(tmp_path: Path, runtime: InProcessRuntime) -> None:
    app = create_app(Settings(home=tmp_path / "home", cache_bytes="0"), runtime=runtime)
    install_fake(app.state["services"].store, TINY, "chronos")
    with TestClient(app) as c:
        for _ in range(2):
            assert c.post("/api/forecast", json=BODY).json()["cached"] is False
        assert len(runtime.adapter.calls) == 2
        assert _metric(c, "tollama_result_cache_max_bytes") == 0 and _hits(c) == 0


def test_the_worker_gets_the_very_bytes_that_were_hashed(client: TestClient[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    sent: list[bytes] = []
    original = httpx.AsyncClient.send

    async def spy(self: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
        if request.url.path == "/v1/forecast":
            sent.append(request.content)
        return await original(self, request, **kw)

    monkeypatch.setattr(httpx.AsyncClient, "send", spy)
    first = client.post("/api/forecast", json=BODY).json()
    (payload,) = sent
    assert client.app.state["services"].forecaster.cache.keys() == [key_of(payload)]
    assert wire.decoder(wire.ForecastBatch).decode(payload).key == first["digest"]  # the digest is inside the key
