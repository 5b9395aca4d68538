"""Prometheus metrics through ``prometheus_client`` (one registry per app, rendered at ``/metrics``).

Counted on the request path (:meth:`Metrics.forecast_done`): forecast requests and latency by
model and status, queue wait and load time by model, series per worker call. Read from the
scheduler at scrape time (:class:`_SchedulerCollector`): requests in flight per model, loaded
models and their memory, worker starts, crashes and restarts per family, and in the static
runtime each replica's health, outstanding calls, calls, ejections, and the retries per family.
Read from the result cache (:class:`_CacheCollector`): lookups by result (``hit``, ``miss``, and
``bypass`` for a sampling model without a seed), evictions, entries, bytes held and the bound.

The ``model`` label only takes installed model names: ``known`` maps a requested name to its
installed name or None, and anything else is counted under ``unknown``, so a flood of random
names cannot grow the number of series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from tollama.result_cache import ResultCache
    from tollama.scheduler import Scheduler

UNKNOWN = "unknown"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class Metrics:
    def __init__(self, known: Callable[[str], str | None] = lambda _: None) -> None:
        self.known = known
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("tollama_forecast_requests", "Forecast requests by model and HTTP status.", ["model", "status"], registry=self.registry)
        self.latency = Histogram("tollama_forecast_seconds", "Forecast latency through the gateway, by model and HTTP status.",
                                 ["model", "status"], buckets=_LATENCY, registry=self.registry)
        self._done: dict[tuple[str, int], tuple[Any, Any]] = {}  # label children, made once each
        self._served: dict[str, tuple[Any, Any]] = {}
        self.queue_wait = Histogram("tollama_queue_wait_seconds", "Time a forecast waited for its model (not counting a load).",
                                    ["model"], buckets=_LATENCY, registry=self.registry)
        self.load_time = Histogram("tollama_model_load_seconds", "Model load time in the worker, for requests that loaded it.",
                                   ["model"], buckets=_LATENCY, registry=self.registry)
        self.batch = Histogram("tollama_worker_batch_series", "Series sent to the worker in one forecast call.",
                               ["model"], buckets=_BATCH, registry=self.registry)

    def label(self, model: str) -> str:
        return self.known(model) or UNKNOWN

    def forecast_done(self, model: str, status: int, seconds: float, *, installed: bool = False) -> None:
        """``installed``: ``model`` is already an installed name (a response's), no look-up needed."""
        label = model if installed else self.label(model)
        children = self._done.get((label, status))
        if children is None:  # prometheus-client's labels() look-up costs microseconds: once per (model, status)
            children = self._done[(label, status)] = (self.requests.labels(label, str(status)), self.latency.labels(label, str(status)))
        children[0].inc()
        children[1].observe(seconds)

    def served(self, model: str, *, queue_ms: float, load_ms: float, series: int) -> None:
        """What one successful forecast's lease measured (``model`` is the installed name it answered with)."""
        children = self._served.get(model)
        if children is None:
            children = self._served[model] = (self.queue_wait.labels(model), self.batch.labels(model))
        children[0].observe(queue_ms / 1000)
        if load_ms > 0:
            self.load_time.labels(model).observe(load_ms / 1000)
        children[1].observe(series)

    def watch(self, scheduler: Scheduler) -> None:
        self.registry.register(_SchedulerCollector(scheduler))

    def watch_cache(self, cache: ResultCache) -> None:
        self.registry.register(_CacheCollector(cache))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _SchedulerCollector(Collector):
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def collect(self) -> Iterator[Metric]:
        s = self.scheduler
        in_flight = GaugeMetricFamily("tollama_requests_in_flight", "Forecast requests waiting or running, by model.", labels=["model"])
        for model, n in sorted(s.in_flight.items()):
            in_flight.add_metric([model], n)
        slots = s.loaded()
        loaded = GaugeMetricFamily("tollama_loaded_models", "Models loaded in workers.", value=len(slots))
        memory = GaugeMetricFamily("tollama_loaded_model_bytes", "Memory a loaded model takes, as its worker measured it.", labels=["model", "device"])
        for slot in slots:
            memory.add_metric([slot.spec.name, slot.device], slot.memory)
        yield from (in_flight, loaded, memory)
        for name, doc, counts in (
            ("tollama_worker_starts", "Family workers started.", s.family_starts),
            ("tollama_worker_crashes", "Family workers found dead (exited or unreachable).", s.crashes),
            ("tollama_worker_restarts", "Starts of a family whose previous worker had crashed.", s.restarts),
        ):
            family = CounterMetricFamily(name, doc, labels=["family"])
            for fam, n in sorted(counts.items()):
                family.add_metric([fam], n)
            yield family
        yield from _replica_metrics(s)


class _CacheCollector(Collector):
    def __init__(self, cache: ResultCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        st = self.cache.stats
        lookups = CounterMetricFamily("tollama_result_cache_lookups", "Result cache lookups by result: hit, miss, or bypass (a sampling model without a seed).",
                                      labels=["result"])
        for result, n in (("hit", st.hits), ("miss", st.misses), ("bypass", st.bypassed)):
            lookups.add_metric([result], n)
        yield lookups
        yield CounterMetricFamily("tollama_result_cache_evictions", "Entries the result cache evicted to stay within its bound.", value=st.evictions)
        yield GaugeMetricFamily("tollama_result_cache_entries", "Worker answers the result cache holds.", value=st.entries)
        yield GaugeMetricFamily("tollama_result_cache_bytes", "Bytes the result cache holds (keys, encoded answers, bookkeeping).", value=st.bytes)
        yield GaugeMetricFamily("tollama_result_cache_max_bytes", "The result cache's bound (TOLLAMA_CACHE_BYTES; 0 = off).", value=self.cache.max_bytes)


def _replica_metrics(s: Scheduler) -> Iterator[Metric]:
    """Static runtime replicas: labelled by family and replica URL, only the replicas known now
    (at most :data:`~tollama.runtime.replicas.MAX_REPLICAS` per family), so the series stay bounded."""
    from tollama.runtime.replicas import ReplicaSet

    healthy = GaugeMetricFamily("tollama_replica_healthy", "1 when the replica is in (healthy), 0 when taken out.", labels=["family", "replica"])
    outstanding = GaugeMetricFamily("tollama_replica_outstanding", "Calls sent to the replica and not yet answered.", labels=["family", "replica"])
    served = CounterMetricFamily("tollama_replica_calls", "Calls the replica answered.", labels=["family", "replica"])
    ejections = CounterMetricFamily("tollama_replica_ejections", "Times the replica was taken out.", labels=["family", "replica"])
    retries = CounterMetricFamily("tollama_replica_retries", "Calls sent again to another replica (the first was not reached).", labels=["family"])
    for family, handle in sorted(s.running().items()):
        if not isinstance(handle, ReplicaSet):
            continue
        retries.add_metric([family], handle.retries)
        for r in handle.replicas.values():
            healthy.add_metric([family, r.url], 1 if r.healthy else 0)
            outstanding.add_metric([family, r.url], r.outstanding)
            served.add_metric([family, r.url], r.served)
            ejections.add_metric([family, r.url], r.ejections)
    yield from (healthy, outstanding, served, ejections, retries)
