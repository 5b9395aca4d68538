"""torch vs ONNX Runtime (float32 and int8) for Chronos-Bolt-small and TinyTimeMixer, in one run.

Real network sizes with random weights (each family's ``tests/checkpoints.py`` at ``size="real"``,
as bench/families.py builds them), on ``--threads`` CPU threads (torch and ORT alike). For each
model: latency at batch 1 (median of ``--repeat``), throughput at batch 64 (series/s), the int8
graph's speed-up, torch's time over ONNX Runtime's at batch sizes 1 to 64 (where the ``auto`` rule
would switch), the share of an ONNX call spent in the network itself (``session.run``), and MASE
(the gateway's own metric, ``tollama.evaluation.metrics``) of the float32 and int8 ONNX forecasts
over rolling windows of statsmodels' co2 (weekly, season 52).
Runs each family in its own environment (``scripts/family_env.py FAMILY --tests`` first):

    python bench/onnx.py [--families chronos,granite] [--threads 2] [--repeat 5]

Random weights make MASE itself meaningless as accuracy; the before/after *difference* is the
cost of the quantisation. Ratios within one run are what counts on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIMES = Path(os.environ.get("TOLLAMA_HOME", ROOT / ".cache" / "tollama-home")) / "runtimes"
MODELS = {"chronos": "chronos-bolt-small", "granite": "granite-ttm-r2"}

CHILD = r"""
import importlib.util, json, os, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
family, model, threads, repeat, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
torch.set_num_threads(threads)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(root / "families" / family / "tests"))
spec = importlib.util.spec_from_file_location("metrics", root / "gateway/src/tollama/evaluation/metrics.py")
metrics = importlib.util.module_from_spec(spec); sys.modules["metrics"] = metrics; spec.loader.exec_module(metrics)
import statsmodels.api as sm
from checkpoints import build
from tollama_kit.adapter import ForecastInput, SeriesInput
adapter = __import__(f"tollama_{family}.adapter", fromlist=["create_adapter"]).create_adapter()
work = Path(tempfile.mkdtemp(prefix="tollama-bench-onnx-"))
os.environ["TOLLAMA_ONNX_CACHE"] = str(work / "cache")
co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy(np.float32)
path = build(model, work / "ckpt", size="real")
t = time.perf_counter(); loaded = adapter.load(model, str(path), "cpu", {}); load_s = time.perf_counter() - t
H, levels = 24, (0.1, 0.5, 0.9)
def batch(n, end=len(co2)):
    return [SeriesInput(id=f"s{i}", target=co2[end - 512 - i : end - i][None]) for i in range(n)]
def call(series, **opts):
    return adapter.forecast(loaded, ForecastInput(horizon=H, quantiles=levels, series=series, freq="W", options=opts))
out = {"model": model, "load_and_export_s": round(load_s, 1)}
variants = {"torch": {"backend": "torch"}, "onnx": {"backend": "onnx"}, "onnx_int8": {"precision": "int8"}}
for name, opts in variants.items():
    for n, key in ((1, "p50_ms_batch1"), (64, "series_per_s_batch64")):
        series = batch(n)
        for _ in range(3):  # warm-up: int8 quantisation on first use, ORT's memory arena grows over the first calls
            call(series, **opts)
        times = []
        for _ in range(repeat):
            t = time.perf_counter(); call(series, **opts); times.append(time.perf_counter() - t)
        med = statistics.median(times)
        out.setdefault(name, {})[key] = round(med * 1000, 1) if n == 1 else round(n / med, 1)
# How much of an ONNX call is the network (ONNX Runtime's session.run) and how much the adapter around it.
from tollama_kit import onnx_cache
spent = [0.0]
run = onnx_cache.OnnxSession.run
def timed_run(self, feeds):
    t = time.perf_counter(); res = run(self, feeds); spent[0] += time.perf_counter() - t; return res
onnx_cache.OnnxSession.run = timed_run
out["network_share"] = {}
for n in (1, 64):
    series = batch(n); shares = []
    for _ in range(repeat):
        spent[0] = 0.0; t = time.perf_counter(); call(series, **variants["onnx"]); shares.append(spent[0] / (time.perf_counter() - t))
    out["network_share"][n] = round(statistics.median(shares) * 100)
onnx_cache.OnnxSession.run = run
# Where ONNX Runtime stops winning (the ``auto`` rule's crossover): torch / ONNX fp32 time per call,
# the two alternating at each batch size.
out["crossover"] = {}
for n in (1, 2, 4, 8, 16, 32, 64):
    series = batch(n)
    times = {"torch": [], "onnx": []}
    for _ in range(repeat):
        for name in times:
            t = time.perf_counter(); call(series, **variants[name]); times[name].append(time.perf_counter() - t)
    out["crossover"][n] = round(statistics.median(times["torch"]) / statistics.median(times["onnx"]), 2)
ends = list(range(len(co2) - 20 * H, len(co2) + 1, H))[:20]
for name in ("onnx", "onnx_int8"):
    scores = []
    for end in ends:
        res = call([SeriesInput(id="w", target=co2[:end - H][-512:][None])], **variants[name])
        s = res.series[0]
        w = metrics.WindowArrays(y_true=co2[end - H:end][None, :, None], y_pred=s.mean.T[None], q_pred=np.moveaxis(s.quantiles, 0, -1).transpose(1, 0, 2)[None],
                                 past=[co2[:end - H][:, None]], seasonality=[52], levels=levels)
        scores.append(metrics.compute(["MASE"], w)["MASE"])
    out[name]["MASE_co2_20_windows"] = round(float(np.mean(scores)), 4)
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--families", default="chronos,granite")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; threads {args.threads}; repeat {args.repeat}"
    )
    for family in args.families.split(","):
        python = RUNTIMES / f"{family}-cpu" / "bin" / "python"
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        proc = subprocess.run(
            [str(python), "-c", CHILD, family, MODELS[family], str(args.threads), str(args.repeat), str(ROOT)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{family}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
            sys.exit(1)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        t, o, q = r["torch"], r["onnx"], r["onnx_int8"]
        print(f"\n{r['model']} (load + export {r['load_and_export_s']} s)")
        print(
            f"  batch 1 p50 ms      torch {t['p50_ms_batch1']:>8}  onnx {o['p50_ms_batch1']:>8} ({t['p50_ms_batch1'] / o['p50_ms_batch1']:.2f}x)"
            f"  int8 {q['p50_ms_batch1']:>8} ({t['p50_ms_batch1'] / q['p50_ms_batch1']:.2f}x)"
        )
        print(
            f"  batch 64 series/s   torch {t['series_per_s_batch64']:>8}  onnx {o['series_per_s_batch64']:>8} "
            f"({o['series_per_s_batch64'] / t['series_per_s_batch64']:.2f}x)  int8 {q['series_per_s_batch64']:>8} "
            f"({q['series_per_s_batch64'] / t['series_per_s_batch64']:.2f}x)"
        )
        print("  torch / onnx fp32 time per call, by batch size: "
              + "  ".join(f"{n}: {ratio:.2f}x" for n, ratio in r["crossover"].items()))
        print("  ONNX fp32 call spent in the network (session.run): "
              + "  ".join(f"batch {n}: {share} %" for n, share in r["network_share"].items()))
        print(f"  MASE co2 (20 windows)  onnx fp32 {o['MASE_co2_20_windows']}  int8 {q['MASE_co2_20_windows']}")


if __name__ == "__main__":
    main()
