"""statsforecast's forecast calls with and without tollama's memoised interval quantiles, in one run.

Run in the baseline environment (it imports statsforecast):
``.cache/tollama-home/runtimes/baseline-cpu/bin/python bench/quantile_memo.py``.

Times ``Naive().forecast(y, h=24, level=[80])`` on 512 points (the trivial forecast's model call) and
``SeasonalNaive(season_length=24).forecast(..., level=[50, 80, 95])``, with statsforecast's own
``_quantiles`` and with :mod:`tollama_baseline.quantile_memo` installed, in alternating rounds: back to
back ("hot"), and once every 2 ms with the CPU kept busy in between ("spaced", closer to a server's
calls between requests). AutoETS and AutoTheta call the same function, but their fits take
hundreds of milliseconds, so the memo is lost in their noise. Prints the medians and the speed-up,
and checks that both give the same numbers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from statsforecast.models import Naive, SeasonalNaive
from tollama_baseline import quantile_memo

Y = np.array([10 + (i % 24) + 0.01 * i for i in range(512)], dtype=np.float64)
CALLS: dict[str, Callable[[], Any]] = {
    "Naive, level 80": lambda: Naive().forecast(Y, h=24, level=[80.0]),
    "SeasonalNaive(24), levels 50/80/95": lambda: SeasonalNaive(season_length=24).forecast(Y, h=24, level=[50.0, 80.0, 95.0]),
}


def median_ms(call: Callable[[], Any], n: int, gap_s: float) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t)
        end = time.perf_counter() + gap_s
        while time.perf_counter() < end:  # busy, as a server is between two requests
            pass
    return statistics.median(samples) * 1000


def main(rounds: int = 5) -> None:
    for name, call in CALLS.items():
        quantile_memo.uninstall()
        own = call()
        quantile_memo.install()
        memo = call()
        same = all(np.array_equal(own[k], memo[k]) for k in own)
        figures: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for state in ("statsforecast's own", "memoised"):
                quantile_memo.install() if state == "memoised" else quantile_memo.uninstall()
                call()
                for mode, gap in (("hot", 0.0), ("spaced", 0.002)):
                    figures.setdefault((state, mode), []).append(median_ms(call, 200, gap))
        print(f"{name} (same numbers: {same})")
        for mode in ("hot", "spaced"):
            a, b = (statistics.median(figures[(s, mode)]) for s in ("statsforecast's own", "memoised"))
            print(f"  {mode:6s} statsforecast's own {a:.3f} ms, memoised {b:.3f} ms: {a / b:.1f}x")


if __name__ == "__main__":
    main()
