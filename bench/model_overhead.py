"""A warm 64-series request through tollama vs the worker vs the library, in one run.

A real-size random Chronos-Bolt-small checkpoint (the hub's dimensions, random weights)
is built with chronos-forecasting, served by a local hub, pulled through tollama, and the
same 64 series × 512 points (horizon 24, quantiles 0.1/0.5/0.9) are timed:
through the gateway, directly against the warm worker, and with `BaseChronosPipeline`
called directly in the chronos environment. Prints the medians and the ratios.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path

import httpx
from _harness import ROOT, RUNTIMES, gateway, machine, p50_ms

sys.path.insert(0, str(ROOT / "tests"))
from hubserver import HubServer
from tollama_kit import protocol as wire

N = 5
SIDE = str(Path(__file__).with_name("_chronos_side.py"))


def main() -> None:
    python = RUNTIMES / "chronos-cpu" / "bin" / "python"
    print(f"machine: {machine()}")
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(512)
    series = [(10 + 3 * np.sin(2 * np.pi * t / 24 + i) + rng.normal(0, 0.5, 512)).astype(np.float32).tolist() for i in range(64)]
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "bolt-small"
        subprocess.run([str(python), SIDE, "build", str(ckpt)], check=True)
        files = {p.name: p.read_bytes() for p in ckpt.iterdir()}
        with HubServer(repos={"amazon/chronos-bolt-small": {"main": files}}) as hub, gateway({"HF_ENDPOINT": hub.endpoint}) as (url, _proc, home):
            body = {"model": "chronos-bolt-small", "horizon": 24, "quantiles": [0.1, 0.5, 0.9],
                    "series": [{"id": str(i), "target": s} for i, s in enumerate(series)]}
            with httpx.Client(base_url=url, timeout=600) as c:
                c.post("/api/pull", json={"model": "chronos-bolt-small", "stream": False}).raise_for_status()
                raw = json.dumps(body).encode()  # encoded once, as the worker payload is: time the server, not the client
                c.post("/api/forecast", content=raw).raise_for_status()  # start, load, warm
                through = p50_ms(lambda: c.post("/api/forecast", content=raw).raise_for_status(), N, warmup=1)
                digest = c.post("/api/show", json={"model": "chronos-bolt-small"}).json()["model_info"]["tollama.digest"]
            batch = wire.ForecastBatch(key=digest, horizon=24, quantiles=[0.1, 0.5, 0.9],
                                       series=[wire.Series(id=str(i), target=array("f", s).tobytes(), length=512) for i, s in enumerate(series)],
                                       options={"covariates_mode": "best_effort", "context_length": 512})
            payload = wire.encode(batch)
            transport = httpx.HTTPTransport(uds=str(home / "run" / "chronos.sock"))
            with httpx.Client(transport=transport, base_url="http://worker", timeout=600) as w:
                worker = p50_ms(lambda: w.post("/v1/forecast", content=payload, headers={"content-type": wire.CONTENT_TYPE}).raise_for_status(), N, warmup=1)
            snapshot = next((home / "models" / "snapshots").iterdir())
            library = float(subprocess.run([str(python), SIDE, "time", str(snapshot), str(N)], input=json.dumps(series),
                                           capture_output=True, text=True, check=True).stdout.strip())
    print(f"chronos-bolt-small (real size, random weights), 64 series × 512, h=24, median of {N}:")
    print(f"  direct library call   {library:9.1f} ms")
    print(f"  direct worker call    {worker:9.1f} ms   ({worker / library:5.3f}× library)")
    print(f"  through tollama       {through:9.1f} ms   ({through / library:5.3f}× library, +{through - worker:.1f} ms over the worker)")


if __name__ == "__main__":
    main()
