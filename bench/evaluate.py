"""An evaluation against the same forecasts made one by one (``python bench/evaluate.py``).

3 baselines (naive, seasonal-naive, auto-ets) over 100 monthly series × 3 windows, horizon 12, through
one ``POST /api/evaluate`` (per model, all 300 cuts in one worker call), against the sum of the same
900 forecasts each sent alone to ``POST /api/forecast`` with its actuals. Prints one markdown row.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time

import httpx
from _harness import gateway, machine

MODELS = ["naive", "seasonal-naive", "auto-ets"]
N_SERIES, WINDOWS, HORIZON, LENGTH = 100, 3, 12, 96


def _series() -> list[dict[str, object]]:
    rng = random.Random(0)
    out = []
    for i in range(N_SERIES):
        level, amp, slope = rng.uniform(50, 150), rng.uniform(2, 20), rng.uniform(-0.3, 0.3)
        target = [level + slope * t + amp * math.sin(2 * math.pi * t / 12) + rng.gauss(0, amp / 4) for t in range(LENGTH)]
        out.append({"id": f"s{i}", "target": target, "start": "2015-01-01"})
    return out


def main() -> None:
    series = _series()
    with gateway() as (url, _proc, _home), httpx.Client(base_url=url, timeout=1800) as http:
        warm = http.post("/api/evaluate", json={"models": MODELS, "series": series[:2], "horizon": HORIZON, "freq": "MS"})
        assert warm.status_code == 200, warm.text
        t0 = time.perf_counter()
        resp = http.post("/api/evaluate", json={"models": MODELS, "series": series, "horizon": HORIZON, "windows": WINDOWS, "freq": "MS"})
        evaluate_s = time.perf_counter() - t0
        assert resp.status_code == 200, resp.text
        board = resp.json()["leaderboard"]
        t0 = time.perf_counter()
        for model in MODELS:
            for s in series:
                target = s["target"]
                assert isinstance(target, list)
                for k in range(WINDOWS):
                    cut = LENGTH - HORIZON - (WINDOWS - 1 - k) * HORIZON
                    one = http.post("/api/forecast", json={"model": model, "horizon": HORIZON, "freq": "MS", "series": [
                        {"id": s["id"], "target": target[:cut], "start": s["start"], "actuals": target[cut:cut + HORIZON]}]})
                    assert one.status_code == 200, one.text
        one_by_one_s = time.perf_counter() - t0
    load = os.getloadavg()[0]
    ranks = ", ".join(f"{r['rank']}. {r['model']} MASE {r['metrics']['MASE']:.3f}" for r in board)
    sys.stdout.write(
        f"| {N_SERIES} series × {WINDOWS} windows × {len(MODELS)} baselines, horizon {HORIZON} | {evaluate_s:.2f} s | "
        f"{one_by_one_s:.2f} s ({N_SERIES * WINDOWS * len(MODELS)} requests) | {one_by_one_s / evaluate_s:.1f}× | {ranks} | "
        f"{machine()}, load {load:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} |\n"
    )


if __name__ == "__main__":
    main()
