"""TSModelfile: the parser (table), create → list → show → create round trip, precedence, presets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from tollama.tsmodelfile import TSModelfileError, parse, render

ROOT = Path(__file__).resolve().parents[2]


def test_every_instruction_quoting_and_comments() -> None:
    mf = parse(
        '# a comment\n\nfrom chronos-2\n  # indented comment\nPARAM horizon 12\nparameter QUANTILES "0.1, 0.5, 0.9"\n'
        'PARAM freq H\nPARAM keep_alive 10m\nPARAM covariates_mode strict\nPARAM device cuda:1\n'
        'LICENSE """line one\nline two"""\nDescription "weekly sales"\n'
    )
    assert mf.from_ == "chronos-2"
    assert mf.params == {"horizon": 12, "quantiles": [0.1, 0.5, 0.9], "freq": "h", "keep_alive": "10m",
                         "covariates_mode": "strict", "device": "cuda:1"}
    assert mf.license == "line one\nline two"
    assert mf.description == "weekly sales"
    assert parse(render(mf)) == mf


ERRORS = [
    ("", 1, "needs a FROM"),
    ("PARAM horizon 3\nFROM x", 1, "before FROM"),
    ("FROM x\nFROM y", 2, "FROM appears twice"),
    ("FROM x\n\nBOGUS 1", 3, "unknown instruction 'BOGUS'"),
    ("FROM x\nPARAM colour red", 2, "unknown parameter 'colour'"),
    ("FROM x\nPARAM horizon", 2, "PARAM horizon needs a value"),
    ("FROM x\nPARAM", 2, "needs a name and a value"),
    ("FROM x\nPARAM horizon zero", 2, "PARAM horizon 'zero'"),
    ("FROM x\nPARAM horizon 0", 2, "must be >= 1"),
    ("FROM x\nPARAM quantiles 0.9,0.1", 2, "sorted and unique"),
    ("FROM x\nPARAM quantiles 0,0.5", 2, "in (0, 1)"),
    ("FROM x\nPARAM freq fortnightly", 2, "unknown frequency"),
    ("FROM x\nPARAM scaling log", 2, "must be one of standard, minmax, none"),
    ("FROM x\nPARAM covariates_mode lax", 2, "strict, best_effort"),
    ("FROM x\nPARAM keep_alive soon", 2, "cannot read keep_alive"),
    ("FROM x\nPARAM device gpu", 2, "auto, cpu, cuda"),
    ("FROM x\nPARAM num_samples 0", 2, "between 1 and 10000"),
    ("FROM x\nLICENSE \"\"\"open\nnever closed", 2, "unterminated"),
    ('FROM x\nDESCRIPTION "half', 2, "malformed quoted value"),
]


@pytest.mark.parametrize(("text", "line", "needle"), ERRORS, ids=[e[2] for e in ERRORS])
def test_errors_name_the_line_and_what_was_expected(text: str, line: int, needle: str) -> None:
    with pytest.raises(TSModelfileError) as info:
        parse(text)
    assert info.value.line == line
    assert needle in info.value.message
    assert info.value.message.startswith(f"TSModelfile line {line}, column ")


def _create(client: TestClient[Any], name: str, text: str) -> Any:
    return client.post("/api/create", json={"model": name, "modelfile": text, "stream": False})


def test_create_list_show_round_trip_keeps_the_digest(client: TestClient[Any]) -> None:
    text = (ROOT / "tsmodelfiles" / "hourly-energy.tsmodelfile").read_text().replace("chronos-bolt-small", "chronos-bolt-tiny")
    first = _create(client, "my-hourly", text)
    assert first.status_code == 200, first.text
    tags = {m["name"]: m for m in client.get("/api/tags").json()["models"]}
    base, mine = tags["chronos-bolt-tiny:latest"], tags["my-hourly:latest"]
    assert mine["digest"] != base["digest"] and mine["size"] == base["size"]  # same blobs, new identity
    assert mine["details"]["parent_model"] == "chronos-bolt-tiny:latest"
    shown = client.post("/api/show", json={"model": "my-hourly"}).json()["modelfile"]
    assert "PARAM horizon 48" in shown and "FROM chronos-bolt-tiny:latest" in shown
    again = _create(client, "my-hourly-2", shown)
    assert again.json()["digest"] == first.json()["digest"]


def test_create_streams_ollama_style_progress(client: TestClient[Any]) -> None:
    with client.stream("POST", "/api/create", json={"model": "x", "modelfile": "FROM chronos-2\nPARAM horizon 3"}) as resp:
        statuses = [line for line in resp.iter_lines() if line]
    assert '"parsing modelfile"' in statuses[0] and '"success"' in statuses[-1]
    assert any("using existing layer sha256:" in s for s in statuses)


def test_forecast_uses_the_parameters_and_a_request_overrides_them(client: TestClient[Any]) -> None:
    assert _create(client, "short", "FROM chronos-bolt-tiny\nPARAM horizon 5\nPARAM quantiles 0.2,0.8\nPARAM freq D\n").status_code == 200
    body = client.post("/api/forecast", json={"model": "short", "series": [{"id": "a", "target": [1, 2, 3], "start": "2024-01-01"}]}).json()
    (fc,) = body["forecasts"]
    assert len(fc["mean"]) == 5 and sorted(fc["quantiles"]) == ["0.2", "0.8"]
    assert fc["timestamps"][0] == "2024-01-04"
    body = client.post("/api/forecast", json={"model": "short", "horizon": 2, "quantiles": [0.5], "series": [[1, 2, 3]]}).json()
    assert len(body["forecasts"][0]["mean"]) == 2 and list(body["forecasts"][0]["quantiles"]) == ["0.5"]


def test_values_outside_the_model_capabilities_are_refused_at_create_time(client: TestClient[Any]) -> None:
    resp = _create(client, "too-far", "FROM chronos-bolt-tiny\n# limits\nPARAM horizon 600\n")
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("TSModelfile line 3") and "maximum of 512" in resp.json()["error"]
    resp = _create(client, "samples", "FROM chronos-bolt-tiny\nPARAM num_samples 10\n")
    assert resp.status_code == 400 and "does not apply" in resp.json()["error"]
    assert _create(client, "x", "FROM nosuch\n").status_code == 404
    assert _create(client, "../evil", "FROM chronos-2\n").json()["code"] == "invalid_model_name"


def test_deleting_a_base_in_use_is_refused_without_losing_blobs(client: TestClient[Any]) -> None:
    assert _create(client, "derived", "FROM chronos-2\nPARAM horizon 4\n").status_code == 200
    resp = client.request("DELETE", "/api/delete", json={"model": "chronos-2"})
    assert resp.status_code == 409 and resp.json()["code"] == "conflict"
    assert client.post("/api/forecast", json={"model": "derived", "series": [[1, 2, 3]]}).status_code == 200
    assert client.request("DELETE", "/api/delete", json={"model": "derived"}).status_code == 200
    assert client.request("DELETE", "/api/delete", json={"model": "chronos-2"}).status_code == 200


def test_from_a_local_checkpoint_directory(client: TestClient[Any], tmp_path: Path) -> None:
    ckpt = tmp_path / "my-bolt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text('{"chronos_pipeline_class": "ChronosBoltPipeline"}')
    (ckpt / "model.safetensors").write_bytes(b"\0" * 64)
    assert _create(client, "imported", f"FROM {ckpt}\nPARAM horizon 8\n").status_code == 200
    info = client.post("/api/show", json={"model": "imported"}).json()["model_info"]
    assert info["tollama.family"] == "chronos" and info["general.basename"] == "chronos-bolt-base"
    assert {f["path"] for f in info["tollama.files"]} == {"config.json", "model.safetensors"}
    unknown = tmp_path / "mystery"
    unknown.mkdir()
    (unknown / "weights.bin").write_bytes(b"1")
    resp = _create(client, "mystery", f"FROM {unknown}\n")
    assert resp.status_code == 400 and "PARAM family" in resp.json()["error"]
    assert _create(client, "mystery", f"FROM {unknown}\nPARAM family granite\n").status_code == 200


@pytest.mark.parametrize(("model_type", "base"), [("flowstate", "granite-flowstate-r1.1"), ("patchtst_fm", "granite-patchtst-fm-r1")])
def test_granite_checkpoints_are_recognised_by_model_type(client: TestClient[Any], tmp_path: Path, model_type: str, base: str) -> None:
    ckpt = tmp_path / model_type
    ckpt.mkdir()
    (ckpt / "config.json").write_text(f'{{"model_type": "{model_type}"}}')
    (ckpt / "model.safetensors").write_bytes(b"\0" * 64)
    assert _create(client, f"my-{model_type.replace('_', '-')}", f"FROM {ckpt}\n").status_code == 200
    info = client.post("/api/show", json={"model": f"my-{model_type.replace('_', '-')}"}).json()["model_info"]
    assert info["tollama.family"] == "granite" and info["general.basename"] == base


@pytest.mark.parametrize("preset", sorted(p.name for p in (ROOT / "tsmodelfiles").glob("*.tsmodelfile")))
def test_presets_create_against_their_base(client: TestClient[Any], preset: str) -> None:
    from conftest import install_fake

    text = (ROOT / "tsmodelfiles" / preset).read_text()
    mf = parse(text)
    store = client.app.state["services"].store
    if mf.from_ == "chronos-bolt-small":
        install_fake(store, "chronos-bolt-small", "chronos")
    resp = _create(client, preset.removesuffix(".tsmodelfile"), text)
    assert resp.status_code == 200, resp.text
    body = client.post("/api/forecast", json={"model": preset.removesuffix(".tsmodelfile"), "series": [[1.0] * 30]}).json()
    assert len(body["forecasts"][0]["mean"]) == mf.params["horizon"]
    assert [float(q) for q in body["forecasts"][0]["quantiles"]] == mf.params["quantiles"]


def test_precedence_request_over_tsmodelfile_over_registry_over_server(client: TestClient[Any], runtime: Any) -> None:
    """keep_alive: server 5m < TSModelfile 0 < request -1; num_samples: registry 20 < TSModelfile 7 < request 3."""
    assert _create(client, "t5-quick", "FROM chronos-t5-tiny\nPARAM keep_alive 0\nPARAM num_samples 7\n").status_code == 200
    seen = runtime.adapter.options_seen
    client.post("/api/forecast", json={"model": "chronos-t5-tiny", "horizon": 2, "series": [[1, 2, 3]]})
    assert seen[-1]["num_samples"] == 20, "the registry default"
    assert client.get("/api/ps").json()["models"], "the server's 5m keep_alive keeps it loaded"
    client.post("/api/forecast", json={"model": "t5-quick", "horizon": 2, "series": [[1, 2, 3]]})
    assert seen[-1]["num_samples"] == 7, "the TSModelfile over the registry"
    assert [m["name"] for m in client.get("/api/ps").json()["models"]] == ["chronos-t5-tiny:latest"], "TSModelfile keep_alive 0 unloaded it"
    client.post("/api/forecast", json={"model": "t5-quick", "horizon": 2, "keep_alive": -1, "options": {"num_samples": 3}, "series": [[1, 2, 3]]})
    assert seen[-1]["num_samples"] == 3, "the request over the TSModelfile"
    assert "t5-quick:latest" in [m["name"] for m in client.get("/api/ps").json()["models"]], "request keep_alive -1 kept it"
