"""Per-family cost: a warm request through tollama vs a direct worker call vs the library, in one run.

For each family, a random checkpoint at the hub's real dimensions (``fixtures_cli.py build --size
real``) is served by a local hub, pulled through a real ``tollama serve`` (process runtime), and the
same request -- ``--series`` windows of statsmodels' co2, 512 points each, horizon 24, quantiles
0.1/0.5/0.9, the family's default options -- is timed (median of ``--repeat`` after one warm-up call):

* through tollama: JSON over HTTP, validation, the worker hop, JSON back;
* a direct worker call: the MessagePack batch the gateway would send, posted to the warm worker's
  Unix socket (built with the gateway's own validation, so it is the same batch);
* the library called directly (``fixtures_cli.py time``): the family's parity-test path (its
  upstream library's public API, model loaded once, in the family's environment).

    python bench/families.py [--families chronos,toto] [--series 8] [--repeat 3]

The chronos row with ``--series 64`` is the "warm 64-series request" figure of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import msgspec
from _harness import ROOT, RUNTIMES, gateway, machine, p50_ms

sys.path.insert(0, str(ROOT / "tests"))
from hubserver import HubServer
from tollama.registry import Registry
from tollama.schema import ForecastRequest
from tollama.settings import Settings
from tollama.validation import validate
from tollama_kit import protocol as wire
from tollama_kit.manifest import discover, listed

# row -> (family, registry model, checkpoint size, freq): every check a family manifest marks with a
# bench row ([[tool.tollama.check]] bench = "..."), at the hub's dimensions with random weights. freq: sent
# with the request where a model reads it (FlowState's scale factor); None: no freq.
MODELS: dict[str, tuple[str, str, str, str | None]] = {
    c.bench: (m.name, c.model, "real", c.freq) for m in listed(discover([ROOT / "families"])) for c in m.check if c.bench
}
HORIZON, LENGTH, QUANTILES = 24, 512, [0.1, 0.5, 0.9]


def co2_windows(n: int) -> list[list[float]]:
    """``n`` windows of statsmodels' weekly co2 (NaNs interpolated), ``LENGTH`` points each, ending
    52 weeks apart (closer when that many do not fit in its 2,284 weeks)."""
    from statsmodels.datasets import co2

    values = co2.load_pandas().data["co2"].interpolate().to_numpy()
    step = min(52, (len(values) - LENGTH) // max(n - 1, 1))
    return [[float(v) for v in values[len(values) - LENGTH - step * i: len(values) - step * i]] for i in range(n)]


def fixtures_cli(family: str, *args: str) -> str:
    python = RUNTIMES / f"{family}-cpu" / "bin" / "python"
    cli = ROOT / "families" / family / "tests" / "fixtures_cli.py"
    return subprocess.run([str(python), str(cli), *args], capture_output=True, text=True, check=True, cwd=ROOT).stdout


def publish(family: str, model: str, size: str, hub: HubServer, registry: Registry, tmp: Path) -> Path:
    """Build ``model``'s checkpoint at ``size`` with its family's own library (random weights, the hub's
    file layout) into ``tmp/model`` and serve it from ``hub`` under the registry entry's repo and
    revision, so that ``/api/pull`` fetches it as from the hub. Returns the checkpoint folder."""
    entry = registry.get(model)
    assert entry is not None, model
    ckpt = tmp / model
    fixtures_cli(family, "build", model, str(ckpt), "--size", size)
    if entry.repo:
        hub.repos[entry.repo] = {entry.revision: {str(p.relative_to(ckpt)): p.read_bytes() for p in ckpt.rglob("*") if p.is_file()}}
    return ckpt


def measure(family: str, model: str, size: str, freq: str | None, series: list[list[float]], repeat: int,
            url: str, home: Path, hub: HubServer, registry: Registry, tmp: Path) -> dict[str, Any]:
    entry = registry.get(model)
    assert entry is not None, model
    ckpt = publish(family, model, size, hub, registry, tmp)
    body = {"model": model, "horizon": HORIZON, "quantiles": QUANTILES, "options": {"seed": 0},
            "series": [{"id": str(i), "target": s} for i, s in enumerate(series)]}
    extra = {"freq": freq} if freq else {}
    body.update(extra)
    raw = json.dumps(body).encode()  # encoded once, as the worker payload is: time the server, not the client
    with httpx.Client(base_url=url, timeout=3600) as c:
        c.post("/api/pull", json={"model": model, "stream": False, "accept_license": True}).raise_for_status()
        c.post("/api/forecast", content=raw).raise_for_status()  # start the worker, load, warm up
        through = p50_ms(lambda: c.post("/api/forecast", content=raw).raise_for_status(), repeat, warmup=0)
        digest = c.post("/api/show", json={"model": model}).json()["model_info"]["tollama.digest"]
    checked = validate(msgspec.json.decode(raw, type=ForecastRequest), model, entry.capabilities, dict(entry.defaults), max_series=len(series))
    checked.batch.key = digest
    payload = wire.encode(checked.batch)
    transport = httpx.HTTPTransport(uds=str(home / "run" / f"{family}.sock"))
    with httpx.Client(transport=transport, base_url="http://worker", timeout=3600) as w:
        worker = p50_ms(lambda: w.post("/v1/forecast", content=payload, headers={"content-type": wire.CONTENT_TYPE}).raise_for_status(), repeat, warmup=0)
    request = tmp / f"{model}.json"
    request.write_text(json.dumps({"horizon": HORIZON, "quantiles": QUANTILES, "options": {"seed": 0, "context_length": LENGTH},
                                   "series": [{"id": str(i), "target": [s]} for i, s in enumerate(series)], **extra}))
    timing = fixtures_cli(family, "time", model, str(ckpt), str(request), "--repeat", str(repeat))
    library = json.loads(timing.strip().splitlines()[-1])  # the last line: libraries may print before it
    with httpx.Client(base_url=url, timeout=600) as c:  # unload and delete: the next family gets the memory and disk
        c.post("/api/forecast", content=json.dumps({**body, "keep_alive": 0}).encode()).raise_for_status()
        if entry.repo:
            c.request("DELETE", "/api/delete", json={"model": model}).raise_for_status()
    return {"family": family, "model": model, "size": size, "library_ms": library["median_ms"], "load_ms": library["load_ms"],
            "worker_ms": worker, "through_ms": through}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default=",".join(MODELS), help="comma separated rows (default: all): " + ", ".join(MODELS))
    parser.add_argument("--series", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(MODELS))
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; known: {sorted(MODELS)}")
    registry = Registry.load(Settings().registry_file)
    series = co2_windows(args.series)
    print(f"machine: {machine()}")
    print(f"request: {args.series} series × {LENGTH} points of co2, horizon {HORIZON}, quantiles {QUANTILES}; median of {args.repeat} warm calls")
    print(f"{'family':<9} {'model':<22} {'library':>10} {'worker':>10} {'tollama':>10}   {'tollama/library':>15}  {'gateway adds':>12}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, HubServer(repos={}) as hub, gateway({"HF_ENDPOINT": hub.endpoint, "TOLLAMA_MAX_LOADED_MODELS": "1"}) as (url, _proc, home):
        for key in families:
            family, model, size, freq = MODELS[key]
            row = measure(family, model, size, freq, series, args.repeat, url, home, hub, registry, Path(tmp))
            rows.append(row)
            print(f"{family:<9} {model:<22} {row['library_ms']:8.1f}ms {row['worker_ms']:8.1f}ms {row['through_ms']:8.1f}ms   "
                  f"{row['through_ms'] / row['library_ms']:14.3f}×  {row['through_ms'] - row['worker_ms']:+10.1f}ms", flush=True)
            for p in Path(tmp).iterdir():  # real-size checkpoints are large: keep one at a time
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            hub.repos.clear()


if __name__ == "__main__":
    main()
