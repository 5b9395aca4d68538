"""An evaluation against the same forecasts made one by one (``python bench/evaluate.py``).

100 monthly series × 3 windows, horizon 12, through one ``POST /api/evaluate`` (per model, all 300 cuts
in one worker call), against the sum of the same forecasts each sent alone to ``POST /api/forecast``
with its actuals. Prints one markdown row per run:

* ``--models baselines`` (the default): naive, seasonal-naive, auto-ets;
* ``--models foundation``: Chronos-Bolt-small alone, at its real size with random weights, built by
  its family's library and pulled from a local hub (``bench/families.py``'s :func:`~families.publish`);
  needs the chronos environment (``python scripts/family_env.py chronos``);
* ``--models all``: the 3 baselines and Chronos-Bolt-small in one evaluation (issue 12's row).

Progress goes to stderr, so a run cut short still says how far it got.

The gateway runs with the result cache off (``bench/_harness.py``): every forecast reaches a worker.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from _harness import gateway, machine
from tollama.registry import Registry
from tollama.settings import Settings

from families import HubServer, publish

BASELINES = ["naive", "seasonal-naive", "auto-ets"]
FOUNDATION = ("chronos", "chronos-bolt-small")  # (family, registry model), real size, random weights
N_SERIES, WINDOWS, HORIZON, LENGTH = 100, 3, 12, 96


def _series() -> list[dict[str, object]]:
    rng = random.Random(0)
    out = []
    for i in range(N_SERIES):
        level, amp, slope = rng.uniform(50, 150), rng.uniform(2, 20), rng.uniform(-0.3, 0.3)
        target = [level + slope * t + amp * math.sin(2 * math.pi * t / 12) + rng.gauss(0, amp / 4) for t in range(LENGTH)]
        out.append({"id": f"s{i}", "target": target, "start": "2015-01-01"})
    return out


def _one_by_one(http: httpx.Client, models: list[str], series: list[dict[str, object]]) -> tuple[float, dict[str, float]]:
    """The wall time of every (model, series, window) forecast sent alone, in total and per model."""
    per_model = {}
    t_all = time.perf_counter()
    for model in models:
        t0 = time.perf_counter()
        for s in series:
            target = s["target"]
            assert isinstance(target, list)
            for k in range(WINDOWS):
                cut = LENGTH - HORIZON - (WINDOWS - 1 - k) * HORIZON
                one = http.post("/api/forecast", json={"model": model, "horizon": HORIZON, "freq": "MS", "series": [
                    {"id": s["id"], "target": target[:cut], "start": s["start"], "actuals": target[cut:cut + HORIZON]}]})
                assert one.status_code == 200, one.text
        per_model[model] = time.perf_counter() - t0
        print(f"one by one, {model}: {per_model[model]:.2f} s", file=sys.stderr, flush=True)
    return time.perf_counter() - t_all, per_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", choices=["baselines", "foundation", "all"], default="baselines")
    args = parser.parse_args()
    series = _series()
    models = [] if args.models == "foundation" else list(BASELINES)
    with_foundation = args.models in ("foundation", "all")
    with ExitStack() as stack:
        extra: dict[str, str] = {}
        if with_foundation:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            hub = stack.enter_context(HubServer(repos={}))
            publish(*FOUNDATION, "real", hub, Registry.load(Settings().registry_file), tmp)
            extra = {"HF_ENDPOINT": hub.endpoint}
            models.append(FOUNDATION[1])
        url, _proc, _home = stack.enter_context(gateway(extra))
        http = stack.enter_context(httpx.Client(base_url=url, timeout=3600))
        if with_foundation:
            http.post("/api/pull", json={"model": FOUNDATION[1], "stream": False}).raise_for_status()
        # warm: every worker started and every model loaded before the clock runs
        warm = http.post("/api/evaluate", json={"models": models, "series": series[:2], "horizon": HORIZON, "freq": "MS"})
        assert warm.status_code == 200, warm.text
        t0 = time.perf_counter()
        resp = http.post("/api/evaluate", json={"models": models, "series": series, "horizon": HORIZON, "windows": WINDOWS, "freq": "MS"})
        evaluate_s = time.perf_counter() - t0
        assert resp.status_code == 200, resp.text
        print(f"evaluate: {evaluate_s:.2f} s", file=sys.stderr, flush=True)
        board = resp.json()["leaderboard"]
        one_by_one_s, per_model = _one_by_one(http, models, series)
    load = os.getloadavg()[0]
    ranks = ", ".join(f"{r['rank']}. {r['model']} MASE {r['metrics']['MASE']:.3f} ({r['inference_ms'] / 1000:.2f} s inference)" for r in board)
    alone = ", ".join(f"{m} {s:.1f} s" for m, s in per_model.items())
    what = " + ".join(([f"{len(BASELINES)} baselines"] if models != [FOUNDATION[1]] else []) + ([f"{FOUNDATION[1]} (real size, random weights)"] if with_foundation else []))
    sys.stdout.write(
        f"| {N_SERIES} series × {WINDOWS} windows × {what}, horizon {HORIZON} | {evaluate_s:.2f} s | "
        f"{one_by_one_s:.2f} s ({N_SERIES * WINDOWS * len(models)} requests: {alone}) | {one_by_one_s / evaluate_s:.1f}× | {ranks} | "
        f"{machine()}, load {load:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} |\n"
    )


if __name__ == "__main__":
    main()
