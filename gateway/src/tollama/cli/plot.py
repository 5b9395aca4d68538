"""``tollama run --plot``: history, forecast mean and its quantile band drawn in the terminal (plotext);
``tollama evaluate --plot``: the leaderboard as bars (:func:`leaderboard`).

One panel per series (per variate for a multivariate series), stacked, up to ``MAX_PANELS``;
the rest are named in a footer line. Each panel shows the last ``history`` points of the input,
the forecast mean and the band between the lowest and the highest quantile answered. The x axis
counts steps (0 is the first forecast step), with the first and last timestamps in the title.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

import plotext as plt

MAX_PANELS = 4
MIN_HEIGHT, MAX_HEIGHT = 12, 24


@dataclass(frozen=True)
class Panel:
    title: str
    history: list[float | None]
    mean: list[float]
    lower: list[float] | None
    upper: list[float] | None
    band: str


def panels(series: list[dict[str, Any]], resp: dict[str, Any]) -> list[Panel]:
    """One panel per (series, variate) of the response, with the history from the request's series."""
    by_id = {str(s.get("id")): s for s in series}
    levels = sorted(float(q) for q in resp.get("quantiles", []))
    lo, hi = (str(levels[0]), str(levels[-1])) if len(levels) >= 2 else (None, None)
    out = []
    for f in resp["forecasts"]:
        target = by_id.get(str(f["id"]), {}).get("target") or []
        multi = bool(f["mean"]) and isinstance(f["mean"][0], list)
        means = f["mean"] if multi else [f["mean"]]
        stamps = f.get("timestamps") or []
        span = f"  {stamps[0]} … {stamps[-1]}" if stamps else ""
        for v, mean in enumerate(means):
            hist = (list(target[v]) if v < len(target) else []) if multi else list(target)
            name = f"{f['id']}" + (f" · variate {v}" if multi else "")
            lower, upper = _level(f, lo, v if multi else None), _level(f, hi, v if multi else None)
            out.append(Panel(f"{name}{span}", hist, list(mean), lower, upper, f"q{lo}–q{hi}" if lo else ""))
    return out


def _level(f: dict[str, Any], level: str | None, variate: int | None) -> list[float] | None:
    if level is None or level not in f["quantiles"]:
        return None
    values = f["quantiles"][level]
    return list(values if variate is None else values[variate])


def render(series: list[dict[str, Any]], resp: dict[str, Any], *, width: int | None = None, height: int | None = None,
           color: bool = False, max_panels: int = MAX_PANELS) -> str:
    """The plots as text: ``width`` x ``height`` per panel (default: the terminal's size)."""
    all_panels = panels(series, resp)
    shown = all_panels[:max_panels]
    cols, rows = shutil.get_terminal_size((100, 40))
    width = width or cols
    height = height or max(MIN_HEIGHT, min(MAX_HEIGHT, (rows - 2) // max(1, len(shown))))
    text = [_one(p, width, height, color) for p in shown]
    if len(all_panels) > len(shown):
        rest = ", ".join(p.title.split("  ")[0] for p in all_panels[len(shown):])
        text.append(f"… {len(all_panels) - len(shown)} more not plotted (at most {max_panels} panels): {rest}\n")
    return "".join(text)


def _one(p: Panel, width: int, height: int, color: bool) -> str:
    # Keep at most as much history as there is room for next to the forecast.
    keep = max(len(p.mean), min(len(p.history), max(8, width - 20 - len(p.mean)), 4 * len(p.mean) + 32))
    hist = p.history[-keep:] if p.history else []
    hx = [i - len(hist) for i in range(len(hist)) if hist[i] is not None]
    hy = [float(y) for y in hist if y is not None]
    fx = list(range(len(p.mean)))
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("pro" if color else "clear")
    if hy:
        plt.plot(hx, hy, label="history", marker="braille", color="blue")
    if p.lower is not None and p.upper is not None:
        plt.plot(fx, p.lower, label=p.band, marker="braille", color="gray")
        plt.plot(fx, p.upper, marker="braille", color="gray")
    plt.plot(fx, p.mean, label="forecast", marker="braille", color="orange")
    plt.vertical_line(-0.5, color="gray")
    plt.title(p.title)
    plt.xlabel("step (0 = first forecast step)")
    out = str(plt.build())
    plt.clear_figure()
    return (out if color else plt.uncolorize(out)) + "\n"


def leaderboard(resp: dict[str, Any], *, width: int | None = None, color: bool = False) -> str:
    """``tollama evaluate --plot``: the leaderboard's first (ranking) metric as horizontal bars, best first;
    models without a score are named below the chart."""
    metric = resp["metrics"][0]
    rows = [(r["model"], r["metrics"].get(metric)) for r in resp["leaderboard"]]
    scored = [(m, float(v)) for m, v in rows if v is not None]
    missing = [m for m, v in rows if v is None]
    cols, _ = shutil.get_terminal_size((100, 40))
    out = ""
    if scored:
        plt.clear_figure()
        plt.theme("pro" if color else "clear")
        plt.simple_bar([m for m, _ in scored], [v for _, v in scored], width=width or cols,
                       title=f"{metric} by model (lower is better, {resp['windows']} window(s))")
        built = str(plt.build())
        plt.clear_figure()
        out = (built if color else plt.uncolorize(built)) + "\n"
    if missing:
        out += f"no {metric}: {', '.join(missing)}\n"
    return out
