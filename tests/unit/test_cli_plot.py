"""``tollama run --plot``: the text plot reflects the numbers it is given."""

from __future__ import annotations

import re
from typing import Any

from tollama.cli import plot

TICK = re.compile(r"^\s*(-?[\d.]+)┤")


def _resp(ids: list[str], mean: float, lo: float, hi: float, h: int = 8) -> dict[str, Any]:
    return {"quantiles": [0.1, 0.5, 0.9], "forecasts": [
        {"id": i, "timestamps": [f"2024-02-{d + 1:02d}" for d in range(h)], "mean": [mean] * h,
         "quantiles": {"0.1": [lo] * h, "0.5": [mean] * h, "0.9": [hi] * h}} for i in ids]}


def _ticks(text: str) -> list[float]:
    return [float(m.group(1)) for line in text.splitlines() if (m := TICK.match(line))]


def test_axis_spans_history_and_band() -> None:
    series = [{"id": "s", "target": [50.0 + (i % 5) for i in range(40)]}]
    text = plot.render(series, _resp(["s"], 60.0, 45.0, 75.0), width=80, height=20)
    ticks = _ticks(text)
    assert max(ticks) == 75.0 and min(ticks) == 45.0  # the band's edges set the y range
    assert "s  2024-02-01 … 2024-02-08" in text and "history" in text and "forecast" in text and "q0.1–q0.9" in text
    assert "\x1b[" not in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_band_lines_sit_above_and_below_the_mean() -> None:
    series = [{"id": "s", "target": [10.0] * 30}]
    text = plot.render(series, _resp(["s"], 20.0, 12.0, 28.0, h=20), width=70, height=24)
    rows = text.splitlines()
    col = max(len(r) for r in rows) - 4  # a column inside the forecast region, right of the legend
    marks = [i for i, line in enumerate(rows) if len(line) > col and "\u2800" < line[col] <= "\u28ff"]  # braille dots
    assert len(marks) == 3, rows  # upper, mean, lower: three rows in one forecast column
    ticks = dict((i, float(m.group(1))) for i, line in enumerate(rows) if (m := TICK.match(line)))
    assert ticks[min(ticks)] == 28.0 and ticks[max(ticks)] == 10.0
    top, mid, low = marks
    # On a linear axis from 28 (first tick row) to 10 (last), 20 sits 8/18 of the way down.
    first, last = min(ticks), max(ticks)
    assert abs((mid - first) / (last - first) - 8 / 18) < 0.1
    assert top <= first + 1 and abs((low - first) / (last - first) - 16 / 18) < 0.1


def test_one_panel_per_series_up_to_the_limit() -> None:
    ids = [f"s{i}" for i in range(6)]
    series = [{"id": i, "target": [1.0, 2.0, 3.0]} for i in ids]
    text = plot.render(series, _resp(ids, 2.0, 1.0, 3.0), width=60, height=12, max_panels=4)
    assert [i for i in ids if f"{i}  2024-02-01" in text] == ids[:4]
    assert text.rstrip().endswith("… 2 more not plotted (at most 4 panels): s4, s5")


def test_multivariate_gets_a_panel_per_variate() -> None:
    series = [{"id": "m", "target": [[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]}]  # one list per variate
    resp = {"quantiles": [], "forecasts": [{"id": "m", "mean": [[4.0, 5.0], [40.0, 50.0]], "quantiles": {}}]}
    text = plot.render(series, resp, width=60, height=12)
    assert "m · variate 0" in text and "m · variate 1" in text
    per_panel = text.split("m · variate 1")
    assert (min(_ticks(per_panel[0])), max(_ticks(per_panel[0]))) == (1.0, 5.0)
    assert (min(_ticks(per_panel[1])), max(_ticks(per_panel[1]))) == (10.0, 50.0)


def test_colour_on_request() -> None:
    text = plot.render([{"id": "s", "target": [1.0, 2.0]}], _resp(["s"], 2.0, 1.0, 3.0), width=60, height=12, color=True)
    assert "\x1b[" in text


def test_leaderboard_bars_follow_the_first_metric() -> None:
    resp = {"metrics": ["MASE", "WQL"], "windows": 3, "leaderboard": [
        {"model": "seasonal-naive", "metrics": {"MASE": 0.5, "WQL": 0.2}},
        {"model": "naive", "metrics": {"MASE": 1.5, "WQL": 0.1}},
        {"model": "broken", "metrics": {"MASE": None, "WQL": None}}]}
    text = plot.leaderboard(resp, width=70)
    bars = {line.split()[0]: line for line in text.splitlines() if "▇" in line}
    assert set(bars) == {"seasonal-naive", "naive"}
    assert bars["naive"].rstrip().endswith("1.50") and bars["seasonal-naive"].rstrip().endswith("0.50")
    assert bars["naive"].count("▇") == 3 * bars["seasonal-naive"].count("▇")  # lengths in proportion to MASE
    assert "MASE by model" in text and "no MASE: broken" in text and "\x1b[" not in text
