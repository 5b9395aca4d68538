"""The web playground (GET /ui) in a real browser: Playwright drives Debian's headless Chromium against a real server."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, family_python, tollama_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TOLLAMA_TEST_ARTIFACTS", ROOT / ".cache" / "test-artifacts"))


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    family_python("baseline")
    with tollama_server(tmp_path_factory.mktemp("home")) as env:
        yield f"http://127.0.0.1:{env['TOLLAMA_PORT']}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = "Debian's chromium is missing (/usr/bin/chromium); `just browser` installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                               args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def test_root_links_the_playground_and_keeps_ollamas_line(base_url: str) -> None:
    assert httpx.get(base_url + "/").text == "tollama is running"
    html = httpx.get(base_url + "/", headers={"accept": "text/html"})
    assert 'href="/ui"' in html.text and html.headers["link"] == '</ui>; rel="playground"'
    page = httpx.get(base_url + "/ui")
    assert page.status_code == 200 and "connect-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(base_url + "/ui/static/../api.py").status_code == 404


def test_upload_forecast_chart_table_download(base_url: str, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    data = tmp_path / "two.csv"
    rows = [("a", f"2024-01-{d:02d}", 20 + (d % 7)) for d in range(1, 29)] + [("b", f"2024-01-{d:02d}", 300 - 2 * d) for d in range(1, 29)]
    data.write_text("id,timestamp,value\n" + "".join(f"{i},{t},{v}\n" for i, t, v in rows))
    request = {"model": "seasonal-naive:latest", "horizon": 5, "quantiles": [0.1, 0.9],
               "series": [{"id": sid, "timestamps": [t for i, t, _ in rows if i == sid], "target": [float(v) for i, _, v in rows if i == sid]} for sid in ("a", "b")]}
    want = httpx.post(base_url + "/api/forecast", json=request, timeout=120).json()

    context = browser.new_context(viewport={"width": 1200, "height": 1400}, accept_downloads=True)
    page = context.new_page()
    requested: list[tuple[str, str | None]] = []
    page.on("request", lambda r: requested.append((r.url, r.headers.get("authorization"))))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base_url + "/ui")
    page.fill("#api-key", "secret-key")
    page.dispatch_event("#api-key", "change")
    assert page.evaluate("sessionStorage.getItem('tollama.apiKey')") == "secret-key"
    page.wait_for_selector("#model option[value='seasonal-naive:latest']", state="attached")
    page.wait_for_selector("#models tbody tr")
    assert "seasonal-naive" in page.inner_text("#models")
    page.set_input_files("#file", str(data))
    expect(page.locator("#data")).to_have_value(re.compile(r"^id,timestamp,value\n"))
    page.select_option("#model", "seasonal-naive:latest")
    page.fill("#horizon", "5")
    page.fill("#quantiles", "0.1,0.9")
    page.click("#run")
    page.wait_for_selector("#table tbody tr >> nth=9")

    # The table: one row per series and step, the numbers as the API returns them.
    cells = [[td.inner_text() for td in tr.query_selector_all("td")] for tr in page.query_selector_all("#table tbody tr")]
    expected = [[f["id"], f["timestamps"][i], f["mean"][i], f["quantiles"]["0.1"][i], f["quantiles"]["0.9"][i]] for f in want["forecasts"] for i in range(5)]
    assert [[c[0], c[1], *map(float, c[2:])] for c in cells] == expected

    # The chart: one per series; hovering its last step shows that step's forecast and band in the legend.
    charts = page.query_selector_all("#charts .chart")
    assert [c.get_attribute("data-series") for c in charts] == ["a", "b"]
    for chart, f in zip(charts, want["forecasts"], strict=True):
        over = chart.query_selector(".u-over")
        box = over.bounding_box()
        page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
        legend = {s.query_selector(".u-label").inner_text(): s.query_selector(".u-value").inner_text() for s in chart.query_selector_all(".u-legend .u-series")[1:]}
        assert float(legend["forecast"]) == f["mean"][-1]
        assert float(legend["q0.9"]) == f["quantiles"]["0.9"][-1] and float(legend["q0.1"]) == f["quantiles"]["0.1"][-1]
        assert legend["history"] == "–"
        assert chart.query_selector("canvas") is not None

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)

    with page.expect_download() as dl:
        page.click("#download")
    body = Path(dl.value.path()).read_text()
    parsed = list(csv.reader(io.StringIO(body)))
    assert parsed[0] == ["id", "timestamp", "mean", "q0.1", "q0.9"]
    assert [[r[0], r[1], *map(float, r[2:])] for r in parsed[1:]] == expected

    # A leaderboard on the same data: the ranks and scores /api/evaluate answers.
    evaluation = {"models": ["naive:latest", "seasonal-naive:latest"], "series": request["series"], "horizon": 5, "windows": 2,
                  "metrics": ["MASE", "MAE"], "quantiles": [0.1, 0.9]}
    board = httpx.post(base_url + "/api/evaluate", json=evaluation, timeout=120).json()["leaderboard"]
    page.fill("#eval-models", "naive:latest, seasonal-naive:latest")
    page.fill("#eval-windows", "2")
    page.fill("#eval-metrics", "MASE,MAE")
    page.click("#evaluate")
    page.wait_for_selector("#leaderboard tbody tr >> nth=1")
    assert [th.inner_text() for th in page.query_selector_all("#leaderboard thead th")] == ["rank", "model", "MASE", "MAE", "win rate", "skill", "ms"]
    shown = [[td.inner_text() for td in tr.query_selector_all("td")] for tr in page.query_selector_all("#leaderboard tbody tr")]
    assert [(int(r[0]), r[1], float(r[2]), float(r[3])) for r in shown] == [(b["rank"], b["model"], b["metrics"]["MASE"], b["metrics"]["MAE"]) for b in board]
    page.screenshot(path=str(ARTIFACTS / "playground-leaderboard.png"), full_page=True)

    # Pull with live status; the model list is reloaded.
    page.fill("#pull-model", "naive")
    page.click("#pull")
    expect(page.locator("#pull-status")).to_have_text(re.compile(r"^success"), timeout=60_000)

    assert not errors, errors
    assert requested and all(url.startswith(base_url + "/") or url.startswith("blob:") for url, _ in requested), requested
    api_calls = [auth for url, auth in requested if "/api/" in url]
    assert api_calls and all(auth == "Bearer secret-key" for auth in api_calls[-3:])
    context.close()
