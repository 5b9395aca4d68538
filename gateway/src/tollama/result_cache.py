"""The result cache: repeats of a deterministic forecast are answered without a worker call.

What a worker answers depends only on the model it holds (the manifest digest, which covers the
weights and the TSModelfile parameters) and on the batch it is sent (series, covariates, horizon,
quantiles, frequency, options). So the key is the SHA-256 of the MessagePack batch exactly as it
goes to the worker (its ``key`` field is the digest), and the value is the worker's
:class:`~tollama_kit.protocol.ForecastResult`, stored encoded: the byte bound counts what is really
held, and every hit decodes a fresh object that no caller can alter in the cache. The response
(ids, timestamps, metrics against actuals, the request's own warnings) is rebuilt from the request
each time, so a hit answers exactly what a worker call would have.

A model whose capabilities say ``sampling`` is cached only when its options carry a ``seed`` (from
the request or its TSModelfile): without one, each call is a new draw.

The store is an LRU bounded by bytes (``TOLLAMA_CACHE_BYTES``; 0 disables it): a ``get`` moves the
entry to the recent end; a ``put`` evicts from the old end until the new entry fits; an entry larger
than the whole bound is not stored. The counters are read by :mod:`tollama.metrics` at scrape time.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from tollama_kit import protocol as wire

from tollama.registry import Capabilities

_DECODE = wire.decoder(wire.ForecastResult)

#: Bookkeeping counted per entry besides the key and the encoded result (the dict slot, the bytes objects).
ENTRY_OVERHEAD = 128


def cacheable(caps: Capabilities, options: dict[str, str | int | float | bool]) -> bool:
    """Whether a worker answer for these options is reproducible: a deterministic model, or a seeded sampling one."""
    return not caps.sampling or "seed" in options


def key_of(payload: bytes) -> bytes:
    """The key of an encoded worker batch (whose ``key`` field is the model digest)."""
    return hashlib.sha256(payload).digest()


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    bypassed: int = 0
    """Lookups not made: a sampling model without a seed."""
    evictions: int = 0
    entries: int = 0
    bytes: int = 0


class ResultCache:
    """A byte-bounded LRU of encoded worker results (``max_bytes`` 0: disabled, nothing is kept)."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.stats = Stats()
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @staticmethod
    def size(key: bytes, value: bytes) -> int:
        return len(key) + len(value) + ENTRY_OVERHEAD

    def get(self, key: bytes) -> wire.ForecastResult | None:
        value = self._entries.get(key)
        if value is None:
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return _DECODE.decode(value)

    def bypass(self) -> None:
        self.stats.bypassed += 1

    def put(self, key: bytes, result: wire.ForecastResult) -> None:
        if not self.enabled:
            return
        value = wire.encode(result)
        size = self.size(key, value)
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.stats.bytes -= self.size(key, old)
        while self.stats.bytes + size > self.max_bytes:
            k, v = self._entries.popitem(last=False)
            self.stats.bytes -= self.size(k, v)
            self.stats.evictions += 1
        self._entries[key] = value
        self.stats.bytes += size
        self.stats.entries = len(self._entries)

    def keys(self) -> list[bytes]:
        """The keys from least to most recently used."""
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.stats.entries = self.stats.bytes = 0


__all__ = ["ENTRY_OVERHEAD", "ResultCache", "Stats", "cacheable", "key_of"]
