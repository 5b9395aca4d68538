"""CPU per ``POST /api/forecast`` in the gateway app alone: the route's framework cost, steady on a loaded machine.

The app is built as ``tollama serve`` builds it, its forecaster is replaced by a stub that answers a fixed
trivial forecast (1 series, horizon 24, three quantiles), and the app is driven over ASGI in this process
(no sockets, no worker): what is left is the middleware, the route, decoding the 1×512 request, the
metrics and encoding the answer. Prints the CPU per request of each round (``time.process_time``); the
minimum is the figure least disturbed by other processes. Compare two builds by running it with each on
``PYTHONPATH`` in turns.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tollama.app import create_app
from tollama.schema import ForecastResponse, SeriesForecast
from tollama.settings import Settings

VALUES = [float(10 + (i % 24) + 0.01 * i) for i in range(512)]
BODY = json.dumps({"model": "naive", "horizon": 24, "quantiles": [0.1, 0.5, 0.9], "series": [{"id": "s", "target": VALUES}]}).encode()
STEPS = [1.0] * 24
ANSWER = ForecastResponse(model="naive:latest", digest="sha256:0", family="baseline", device="cpu", horizon=24, quantiles=[0.1, 0.5, 0.9],
                          forecasts=[SeriesForecast(id="s", mean=STEPS, quantiles={"0.1": STEPS, "0.5": STEPS, "0.9": STEPS})],
                          warnings=[], load_ms=0.0, queue_ms=0.0, inference_ms=0.0, total_ms=0.0, created_at="2026-01-01T00:00:00Z", done=True, cached=False)


async def main(rounds: int, per_round: int) -> None:
    app = create_app(Settings(home=Path(tempfile.mkdtemp(prefix="tollama-bench-")), log_level="warning"))
    forecaster = app.state["services"].forecaster

    async def stub(req: Any, emit: Any = None) -> ForecastResponse:
        return ANSWER

    forecaster.forecast = stub
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

    async def one() -> None:
        pending = [{"type": "http.request", "body": BODY, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                 "path": "/api/forecast", "raw_path": b"/api/forecast", "query_string": b"", "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "state": {}}
        await app(scope, receive, send)  # type: ignore[arg-type]
        assert sent[0]["status"] == 200, sent

    for _ in range(300):
        await one()
    cpu = []
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(per_round):
            await one()
        cpu.append((time.process_time() - t) * 1e6 / per_round)
    print(f"CPU per POST /api/forecast (µs), {rounds} rounds of {per_round}: {' '.join(f'{c:.0f}' for c in cpu)}")
    print(f"min {min(cpu):.0f} µs, median {statistics.median(cpu):.0f} µs")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 500))
