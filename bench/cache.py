"""The result cache's hit path against a miss, measured in one run (``python bench/cache.py``).

Two gateways run side by side on the baseline worker, one with the result cache on (64 MiB) and one
with it off, and the trivial forecast of ``bench/overhead.py`` (1 series × 512 points, horizon 24,
``naive``) is timed by interleaving the three cases request by request, so that load on a shared
machine falls on all of them alike:

* **hit**: the same body again, answered from the cache (``cached: true``, no worker call);
* **miss**: a body never sent before (one value changed) to the cache-on gateway: key derivation,
  the worker call, and the store of its answer;
* **off**: the same never-sent bodies to the cache-off gateway: the worker path with no cache at all.

It prints the p50 of each, hit/miss and miss − off (what a miss adds), and the in-process cost of the
key (encoding the worker batch and its SHA-256) for this request and a 100 × 2,048-point one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
import timeit
from array import array

import httpx
from _harness import gateway, machine
from tollama_kit import protocol as wire

VALUES = [float(10 + (i % 24) + 0.01 * i) for i in range(512)]


def _body(values: list[float]) -> bytes:
    return json.dumps({"model": "naive", "horizon": 24, "quantiles": [0.1, 0.5, 0.9], "series": [{"id": "s", "target": values}]}).encode()


def _timed(client: httpx.Client, body: bytes, cached: bool) -> float:
    t = time.perf_counter()
    resp = client.post("/api/forecast", content=body)
    ms = (time.perf_counter() - t) * 1000
    resp.raise_for_status()
    assert resp.json()["cached"] is cached, resp.text[:200]
    return ms


def _key_us(n_series: int, length: int, repeat: int) -> tuple[float, float, int]:
    """Microseconds to encode a batch of this size and to hash the encoding (SHA-256), and its byte size."""
    target = array("f", [float(i % 97) for i in range(length)]).tobytes()
    batch = wire.ForecastBatch(key="sha256:" + "0" * 64, horizon=24, quantiles=[0.1, 0.5, 0.9], options={"context_length": length},
                               series=[wire.Series(id=str(i), target=target, length=length) for i in range(n_series)])
    payload = wire.encode(batch)
    encode = min(timeit.repeat(lambda: wire.encode(batch), number=repeat, repeat=5)) / repeat * 1e6
    digest = min(timeit.repeat(lambda: hashlib.sha256(payload).digest(), number=repeat, repeat=5)) / repeat * 1e6
    return encode, digest, len(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="requests per case (default 300)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    hit_body = _body(VALUES)
    with gateway({"TOLLAMA_CACHE_BYTES": "64MiB"}) as (on_url, _p1, _h1), gateway({"TOLLAMA_CACHE_BYTES": "0"}) as (off_url, _p2, _h2), \
            httpx.Client(base_url=on_url, timeout=60) as on, httpx.Client(base_url=off_url, timeout=60) as off:
        _timed(on, hit_body, cached=False)  # start + load the worker; the answer is now cached
        _timed(off, hit_body, cached=False)
        for i in range(20):  # warm both paths
            _timed(on, hit_body, cached=True)
            _timed(off, _body([*VALUES[:-1], -1.0 - i]), cached=False)
        hits, misses, offs = [], [], []
        for i in range(args.n):
            fresh = _body([*VALUES[:-1], 1000.0 + i])  # never sent before: a miss on the cache-on gateway
            hits.append(_timed(on, hit_body, cached=True))
            misses.append(_timed(on, fresh, cached=False))
            offs.append(_timed(off, fresh, cached=False))
        metrics = on.get("/metrics").text
    hit, miss, none = (statistics.median(x) for x in (hits, misses, offs))
    print(f"p50 over {args.n} interleaved requests each: hit {hit:.2f} ms, miss {miss:.2f} ms, cache off {none:.2f} ms")
    print(f"hit / miss = {hit / miss:.2f} ({miss / hit:.1f}× faster); a miss adds {miss - none:+.2f} ms over the cache off")
    print("  " + "; ".join(line for line in metrics.splitlines() if line.startswith("tollama_result_cache_lookups_total")))
    for n_series, length, repeat in ((1, 512, 2000), (100, 2048, 20)):
        enc, sha, size = _key_us(n_series, length, repeat)
        print(f"key of a {n_series} × {length} batch ({size:,} bytes): encode {enc:.1f} µs (done once, sent as is on a miss), sha256 {sha:.1f} µs")


if __name__ == "__main__":
    main()
