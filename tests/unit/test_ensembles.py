"""Ensembles (a TSModelfile's ENSEMBLE line): create/show round trip, the combination by hand-worked numbers, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import InProcessRuntime
from litestar.testing import TestClient

TINY, TWO, T5 = "chronos-bolt-tiny", "chronos-2", "chronos-t5-tiny"


def _create(client: TestClient[Any], name: str, text: str) -> Any:
    return client.post("/api/create", json={"model": name, "modelfile": text, "stream": False})


@pytest.fixture
def offsets(runtime: InProcessRuntime) -> dict[str, float]:
    """The fake forecasts last value + level spread; these offsets tell the members apart."""
    runtime.adapter.offsets.update({TINY: 0.0, TWO: 10.0, T5: 2.0})
    return runtime.adapter.offsets


def _forecast(client: TestClient[Any], model: str, **extra: Any) -> Any:
    return client.post("/api/forecast", json={"model": model, "horizon": 2, "quantiles": [0.1, 0.9], "series": [{"id": "a", "target": [1, 2, 3]}], **extra})


@pytest.mark.parametrize(("combine", "point", "low"), [
    # members forecast 3, 13 and 5 (offsets 0, 10, 2); the 0.1 level is each minus 0.4
    ("median", 5.0, 4.6),
    ("mean", 7.0, (2.6 + 12.6 + 4.6) / 3),
])
def test_median_and_mean_by_hand(client: TestClient[Any], offsets: dict[str, float], combine: str, point: float, low: float) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO} {T5}\nPARAM combine {combine}\n").status_code == 200
    resp = _forecast(client, "ens")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "ens:latest" and body["family"] == "chronos"
    (f,) = body["forecasts"]
    assert f["members"] == [f"{TINY}:latest", f"{TWO}:latest", f"{T5}:latest"]
    assert f["mean"] == pytest.approx([point, point])
    assert f["quantiles"]["0.1"] == pytest.approx([low, low])
    assert f["quantiles"]["0.9"] == pytest.approx([low + 0.8, low + 0.8])


def test_each_level_is_the_combination_of_the_members_own_answers(client: TestClient[Any], offsets: dict[str, float]) -> None:
    offsets[TWO] = 1.25
    assert _create(client, "pair", f"ENSEMBLE {TINY} {TWO}\nPARAM combine mean\n").status_code == 200
    series = [{"id": "x", "target": [1, 5, 2, 8]}, {"id": "y", "target": [[1, 2, 3], [4, 5, 9]]}]
    members = [client.post("/api/forecast", json={"model": m, "horizon": 3, "series": series}).json() for m in (TINY, TWO)]
    ens = client.post("/api/forecast", json={"model": "pair", "horizon": 3, "series": series}).json()
    for i, f in enumerate(ens["forecasts"]):
        a, b = members[0]["forecasts"][i], members[1]["forecasts"][i]
        for level, values in f["quantiles"].items():
            flat = [v for row in values for v in (row if isinstance(row, list) else [row])]
            fa = [v for row in a["quantiles"][level] for v in (row if isinstance(row, list) else [row])]
            fb = [v for row in b["quantiles"][level] for v in (row if isinstance(row, list) else [row])]
            assert flat == pytest.approx([(x + y) / 2 for x, y in zip(fa, fb, strict=True)])


def test_metrics_with_actuals_score_the_combined_forecast(client: TestClient[Any], offsets: dict[str, float]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO} {T5}\n").status_code == 200
    body = _forecast(client, "ens", metrics=["MAE"], series=[{"id": "a", "target": [1, 2, 3], "actuals": [6, 4]}]).json()
    # combined point forecast 5 (median of 3, 13, 5): |6-5| and |4-5|
    assert body["metrics"]["MAE"] == pytest.approx(1.0)
    assert body["forecasts"][0]["metrics"]["MAE"] == pytest.approx(1.0)


def test_create_show_round_trip_keeps_the_digest(client: TestClient[Any]) -> None:
    first = _create(client, "ens", f"# two models\nENSEMBLE {TINY} {TWO}\nPARAM horizon 12\nDESCRIPTION both\n")
    assert first.status_code == 200, first.text
    shown = client.post("/api/show", json={"model": "ens"}).json()
    text = shown["modelfile"]
    assert text.startswith(f"ENSEMBLE {TINY}:latest {TWO}:latest\n") and "PARAM combine median" in text
    again = _create(client, "ens-2", text)
    assert again.json()["digest"] == first.json()["digest"]
    explicit = _create(client, "ens-3", f"ENSEMBLE {TINY}:latest {TWO}\nPARAM combine median\nPARAM horizon 12\nDESCRIPTION both")
    assert explicit.json()["digest"] == first.json()["digest"]
    other = _create(client, "ens-4", f"ENSEMBLE {TWO} {TINY}\nPARAM horizon 12\nDESCRIPTION both")
    assert other.json()["digest"] != first.json()["digest"]  # members in another order: another model
    info = shown["model_info"]
    assert info["tollama.ensemble.members"] == [f"{TINY}:latest", f"{TWO}:latest"]
    assert info["tollama.ensemble.combine"] == "median"
    assert info["tollama.family"] == "ensemble" and isinstance(info["general.parameter_count"], str)
    assert info["tollama.capabilities.max_horizon"] == 512  # the smaller of the members' limits
    tags = {m["name"]: m for m in client.get("/api/tags").json()["models"]}
    assert tags["ens:latest"]["details"]["family"] == "ensemble" and tags["ens:latest"]["size"] == 0


@pytest.mark.parametrize(("text", "line", "needle"), [
    (f"ENSEMBLE {TINY}", 1, "at least 2 member models, got 1"),
    (f"# c\nENSEMBLE {TINY} {TINY}", 2, f"member {TINY!r} twice"),
    (f"\nENSEMBLE {TINY} {TINY}:latest", 2, f"member '{TINY}:latest' twice"),
    (f"ENSEMBLE {TINY} nope-model", 1, "'nope-model' is not installed"),
    (f"ENSEMBLE {TINY} {TWO}\nFROM {TINY}", 2, "FROM after ENSEMBLE"),
    (f"ENSEMBLE {TINY} {TWO}\nPARAM combine max", 2, "must be one of median, mean"),
    (f"FROM {TINY}\nPARAM combine mean", 2, "applies only to an ENSEMBLE"),
    (f"ENSEMBLE {TINY} {TWO}\n\nPARAM horizon 600", 3, f"exceeds the maximum of 512 for {TINY!r}"),
])
def test_errors_name_the_line(client: TestClient[Any], text: str, line: int, needle: str) -> None:
    resp = _create(client, "bad", text)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_value" and f"line {line}," in body["error"] and needle in body["error"], body


def test_an_ensemble_is_not_a_member(client: TestClient[Any]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO}").status_code == 200
    resp = _create(client, "nested", f"ENSEMBLE ens {TINY}")
    assert resp.status_code == 400 and "'ens' is itself an ensemble" in resp.json()["error"]


def test_a_horizon_over_a_members_limit_names_the_member(client: TestClient[Any]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TWO} {T5}").status_code == 200
    resp = _forecast(client, "ens", horizon=300)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_value" and body["path"] == "$.horizon" and body["limit"] == 256
    assert f"member '{T5}:latest'" in body["error"] and "maximum of 256" in body["error"]


def test_a_deleted_member_is_a_404_naming_it(client: TestClient[Any]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO}").status_code == 200
    assert client.request("DELETE", "/api/delete", json={"model": TWO}).status_code == 200
    resp = _forecast(client, "ens")
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == "model_not_found" and f"member '{TWO}:latest' is not installed" in resp.json()["error"]
    assert client.request("DELETE", "/api/delete", json={"model": "ens"}).status_code == 200  # still deletable


def test_member_warnings_are_kept_with_the_members_name(client: TestClient[Any]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO}\nPARAM seed 99").status_code == 400  # seed: sampling models only
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO}").status_code == 200
    body = _forecast(client, "ens", options={"seed": 99}).json()
    assert f"{TINY}:latest: from-adapter" in body["warnings"] and f"{TWO}:latest: from-adapter" in body["warnings"]


def test_evaluate_ranks_an_ensemble_beside_its_members(client: TestClient[Any], offsets: dict[str, float]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO} {T5}").status_code == 200
    series = [{"id": "s", "target": [float(i % 5) for i in range(30)]}]
    resp = client.post("/api/evaluate", json={"models": [TINY, TWO, T5, "ens"], "series": series, "horizon": 3, "windows": 2, "metrics": ["MAE"]})
    assert resp.status_code == 200, resp.text
    rows = {r["model"]: r for r in resp.json()["leaderboard"]}
    assert set(rows) == {TINY, TWO, T5, "ens"}
    assert rows[TWO]["metrics"]["MAE"] != pytest.approx(rows[T5]["metrics"]["MAE"])
    assert all(rows[m]["metrics"]["MAE"] is not None for m in rows)
    # the median of last+0, last+10 and last+2 is the third member's forecast: the same score
    assert rows["ens"]["metrics"]["MAE"] == pytest.approx(rows[T5]["metrics"]["MAE"])


def test_validate_checks_every_member_without_forecasting(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO}").status_code == 200
    resp = client.post("/api/validate", json={"model": "ens", "horizon": 3, "series": [[1, 2, 3]]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["valid"] is True and resp.json()["model"] == "ens:latest" and runtime.adapter.calls == []
    install = _create(client, "mixed", f"ENSEMBLE {TINY} granite-ttm-r2")  # granite: no runtime in the fake
    assert install.status_code == 200
    refused = client.post("/api/validate", json={"model": "mixed", "horizon": 3, "series": [[1, 2, 3]]})
    assert refused.status_code >= 400 and "granite" in refused.json()["error"], refused.text


def test_auto_takes_an_ensemble_only_when_named(client: TestClient[Any], offsets: dict[str, float]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO} {T5}").status_code == 200
    series = [{"id": "s", "target": [float(i % 5) for i in range(30)]}]
    named = client.post("/api/forecast", json={"model": "auto", "horizon": 2, "options": {"candidates": ["ens", TWO]}, "series": series})
    assert named.status_code == 200, named.text
    assert set(named.json()["forecasts"][0]["scores"]) == {"ens", TWO}
    default = client.post("/api/forecast", json={"model": "auto", "horizon": 2, "series": series})
    assert default.status_code == 200, default.text
    assert f"{TINY}:latest" in default.json()["forecasts"][0]["scores"]
    assert "ens" not in default.json()["forecasts"][0]["scores"] and "ens:latest" not in default.json()["forecasts"][0]["scores"]


def test_from_an_ensemble_inherits_its_members_and_may_change_the_rule(client: TestClient[Any], offsets: dict[str, float]) -> None:
    assert _create(client, "ens", f"ENSEMBLE {TINY} {TWO} {T5}").status_code == 200
    assert _create(client, "ens-mean", "FROM ens\nPARAM combine mean\nPARAM horizon 2").status_code == 200
    body = client.post("/api/forecast", json={"model": "ens-mean", "series": [[1, 2, 3]]}).json()
    assert body["forecasts"][0]["mean"] == pytest.approx([7.0, 7.0])  # mean of 3, 13 and 5
    shown = client.post("/api/show", json={"model": "ens-mean"}).json()
    assert shown["model_info"]["tollama.ensemble.combine"] == "mean" and shown["model_info"]["tollama.parent"] == "ens:latest"
