"""The result cache through a real ``tollama serve`` and the real baseline worker process.

A hit is proved to make no worker call by unloading the model first (``POST /api/stop``): a cached
answer comes back while ``/api/ps`` still lists no loaded model and the worker count is unchanged
(a forecast can only run in a worker that has the model loaded, and a hit never loads one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import ROOT, family_python, tollama_server
from prometheus_client.parser import text_string_to_metric_families

SERIES = [{"id": "co2", "target": [float(300 + (i % 12) + 0.1 * i) for i in range(96)], "start": "2015-01-01", "freq": "MS"}]
BODY: dict[str, Any] = {"model": "seasonal-naive", "horizon": 12, "quantiles": [0.1, 0.5, 0.9], "series": SERIES}


def _samples(http: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _lookups(http: httpx.Client, result: str) -> float:
    return _samples(http).get(("tollama_result_cache_lookups_total", (("result", result),)), 0.0)


def _loaded(http: httpx.Client) -> list[str]:
    return [m["name"] for m in http.get("/api/ps").json()["models"]]


def _starts(http: httpx.Client) -> float:
    return _samples(http).get(("tollama_worker_starts_total", (("family", "baseline"),)), 0.0)


def _forecast(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    resp = http.post("/api/forecast", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One server for the module, on a registry of its own where the baseline's naive declares ``sampling``
    (the gateway's rule against a real worker; no sampling model needs a seed-less family env then)."""
    family_python("baseline")
    tmp = tmp_path_factory.mktemp("cache")
    catalogue = yaml.safe_load((ROOT / "registry.yaml").read_text())
    catalogue["models"]["naive"]["capabilities"]["sampling"] = True
    (tmp / "registry.yaml").write_text(yaml.safe_dump(catalogue))
    with tollama_server(tmp / "home", TOLLAMA_REGISTRY=str(tmp / "registry.yaml")) as env, \
            httpx.Client(base_url=f"http://127.0.0.1:{env['TOLLAMA_PORT']}", timeout=300) as client:
        yield client


@pytest.mark.slow
def test_repeats_are_served_without_the_worker_and_changes_miss(http: httpx.Client) -> None:
    hits, misses = _lookups(http, "hit"), _lookups(http, "miss")
    first = _forecast(http, BODY)
    assert first["cached"] is False and "seasonal-naive:latest" in _loaded(http)
    starts = _starts(http)
    assert http.post("/api/stop", json={"model": "seasonal-naive"}).json()["stopped"] is True
    assert "seasonal-naive:latest" not in _loaded(http)
    again = _forecast(http, BODY)
    assert again["cached"] is True and again["forecasts"] == first["forecasts"]
    assert "seasonal-naive:latest" not in _loaded(http) and _starts(http) == starts  # nothing was loaded: no worker forecast ran
    assert (_lookups(http, "hit") - hits, _lookups(http, "miss") - misses) == (1, 1)
    for change in ({"horizon": 6}, {"quantiles": [0.25, 0.75]}, {"options": {"season_length": 4}},
                   {"series": [{**SERIES[0], "target": SERIES[0]["target"][:-1]}]}):  # type: ignore[index]
        body = {**BODY, **change}
        assert _forecast(http, body)["cached"] is False, change
        assert _forecast(http, body)["cached"] is True, change
    assert (_lookups(http, "hit") - hits, _lookups(http, "miss") - misses) == (5, 5)
    samples = _samples(http)
    assert samples[("tollama_result_cache_entries", ())] >= 5 and samples[("tollama_result_cache_bytes", ())] > 0
    # an evaluation makes its worker call once; repeated, it is answered from the cache with the same leaderboard
    ev = {"models": ["seasonal-naive"], "series": SERIES, "horizon": 12, "windows": 2}
    board = http.post("/api/evaluate", json=ev).json()["leaderboard"]
    http.post("/api/stop", json={"model": "seasonal-naive"})
    assert http.post("/api/evaluate", json=ev).json()["leaderboard"] == board and "seasonal-naive:latest" not in _loaded(http)


@pytest.mark.slow
def test_a_recreated_model_has_a_new_digest_and_misses(http: httpx.Client) -> None:
    def create(text: str) -> None:
        r = http.post("/api/create", json={"model": "mine", "modelfile": text, "stream": False})
        assert r.status_code == 200, r.text

    body = {**BODY, "model": "mine"}
    create("FROM seasonal-naive\nPARAM season_length 12\n")
    first = _forecast(http, body)
    assert _forecast(http, body)["cached"] is True
    create("FROM seasonal-naive\nPARAM season_length 6\n")
    again = _forecast(http, body)
    assert again["digest"] != first["digest"] and again["cached"] is False
    assert again["forecasts"][0]["mean"] != first["forecasts"][0]["mean"]  # the new parameters really served it


@pytest.mark.slow
def test_a_sampling_model_is_cached_only_with_a_seed(http: httpx.Client) -> None:
    bypassed, hits = _lookups(http, "bypass"), _lookups(http, "hit")
    body = {**BODY, "model": "naive"}
    assert [_forecast(http, body)["cached"] for _ in range(3)] == [False, False, False]
    assert _lookups(http, "bypass") - bypassed == 3 and _lookups(http, "hit") == hits
    seeded = {**body, "options": {"seed": 3}}
    assert [_forecast(http, seeded)["cached"] for _ in range(2)] == [False, True]
    assert _forecast(http, {**body, "options": {"seed": 4}})["cached"] is False


@pytest.mark.slow
def test_zero_bytes_turns_the_cache_off(tmp_path: Path) -> None:
    family_python("baseline")
    with tollama_server(tmp_path / "home", TOLLAMA_CACHE_BYTES="0") as env, \
            httpx.Client(base_url=f"http://127.0.0.1:{env['TOLLAMA_PORT']}", timeout=300) as client:
        assert [_forecast(client, BODY)["cached"] for _ in range(2)] == [False, False]
        assert _lookups(client, "hit") == 0 and _lookups(client, "miss") == 0
