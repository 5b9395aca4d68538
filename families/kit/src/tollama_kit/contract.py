"""The contract suite every family runs against itself.

A family's tests subclass :class:`WorkerContract` and provide one fixture,
``contract_case``, returning a :class:`ContractCase` (an adapter plus a checkpoint
directory built with the family's own library). The suite drives the real worker app
in-process over protocol v1 (MessagePack bodies) and checks what every family promises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np
import pytest
from litestar.testing import TestClient

from tollama_kit import protocol as wire
from tollama_kit.adapter import Adapter
from tollama_kit.arrays import pack
from tollama_kit.server import create_worker_app


@dataclass
class ContractCase:
    adapter_factory: Callable[[], Adapter]
    name: str
    path: str
    horizon: int = 12
    context: int = 64
    options: dict[str, Any] = field(default_factory=dict)
    allows_missing: bool = True
    """Whether a NaN inside the context is forecast (True) or answered with ``bad_input``."""


def _series(sid: str, n: int, seed: int) -> wire.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float32)
    y = 10 + 3 * np.sin(2 * np.pi * t / 12) + 0.01 * t + rng.normal(0, 0.3, n)
    return wire.Series(id=sid, target=pack(y), length=n)


def _post(client: TestClient[Any], path: str, msg: msgspec.Struct) -> Any:
    return client.post(path, content=wire.encode(msg), headers={"content-type": wire.CONTENT_TYPE})


class WorkerContract:
    QUANTILES = [0.1, 0.5, 0.9]

    @pytest.fixture(scope="class")
    @classmethod
    def client(cls, contract_case: ContractCase) -> Iterator[TestClient[Any]]:
        app = create_worker_app(contract_case.adapter_factory())
        with TestClient(app) as client:
            yield client

    @pytest.fixture(scope="class")
    @classmethod
    def loaded(cls, client: TestClient[Any], contract_case: ContractCase) -> str:
        req = wire.LoadRequest(key="contract", name=contract_case.name, path=contract_case.path, device="cpu")
        resp = _post(client, "/v1/load", req)
        assert resp.status_code == 200, resp.content
        return "contract"

    def _batch(self, case: ContractCase, ids: list[str], **kw: Any) -> wire.ForecastBatch:
        series = [_series(sid, case.context, i) for i, sid in enumerate(ids)]
        return wire.ForecastBatch(
            key="contract", horizon=case.horizon, quantiles=self.QUANTILES, series=series, options=case.options, **kw
        )

    def _forecast(self, client: TestClient[Any], batch: wire.ForecastBatch) -> wire.ForecastResult:
        resp = _post(client, "/v1/forecast", batch)
        assert resp.status_code == 200, resp.content
        return wire.decoder(wire.ForecastResult).decode(resp.content)

    def test_health_names_the_family(self, client: TestClient[Any], contract_case: ContractCase) -> None:
        health = msgspec.msgpack.decode(client.get("/v1/health").content, type=wire.Health)
        assert health.family == contract_case.adapter_factory().family
        assert health.protocol_version == wire.PROTOCOL_VERSION

    def test_load_is_idempotent_and_reported(self, client: TestClient[Any], loaded: str, contract_case: ContractCase) -> None:
        again = _post(client, "/v1/load", wire.LoadRequest(key=loaded, name=contract_case.name, path=contract_case.path))
        assert msgspec.msgpack.decode(again.content, type=wire.LoadResponse).already_loaded
        info = msgspec.msgpack.decode(client.get("/v1/info").content, type=wire.Info)
        assert [m.key for m in info.loaded] == [loaded]
        assert info.versions, "describe() must report the upstream library versions"

    def test_forecast_shapes_and_monotone_quantiles(self, client: TestClient[Any], loaded: str, contract_case: ContractCase) -> None:
        result = self._forecast(client, self._batch(contract_case, ["a", "b", "c"]))
        assert [s.id for s in result.series] == ["a", "b", "c"]
        for s in result.series:
            mean = np.frombuffer(s.mean, dtype="<f4").reshape(s.n_targets, contract_case.horizon)
            q = np.frombuffer(s.quantiles, dtype="<f4").reshape(len(self.QUANTILES), s.n_targets, contract_case.horizon)
            assert np.isfinite(mean).all() and np.isfinite(q).all()
            assert (np.diff(q, axis=0) >= -1e-5).all(), "quantiles must be non-decreasing in the level"

    def test_forecast_is_deterministic_per_batch_composition(self, client: TestClient[Any], loaded: str, contract_case: ContractCase) -> None:
        one = self._forecast(client, self._batch(contract_case, ["a"]))
        two = self._forecast(client, self._batch(contract_case, ["a"]))
        np.testing.assert_allclose(
            np.frombuffer(one.series[0].mean, "<f4"), np.frombuffer(two.series[0].mean, "<f4"), rtol=1e-4, atol=1e-4
        )

    def test_missing_values_are_forecast_or_refused(self, client: TestClient[Any], loaded: str, contract_case: ContractCase) -> None:
        batch = self._batch(contract_case, ["gappy"])
        y = np.frombuffer(batch.series[0].target, "<f4").copy()
        y[5:8] = np.nan
        batch.series[0].target = pack(y)
        resp = _post(client, "/v1/forecast", batch)
        if contract_case.allows_missing:
            assert resp.status_code == 200, resp.content
            out = wire.decoder(wire.ForecastResult).decode(resp.content)
            assert np.isfinite(np.frombuffer(out.series[0].mean, "<f4")).all()
        else:
            assert resp.status_code == 400
            assert msgspec.msgpack.decode(resp.content, type=wire.WorkerError).code == "bad_input"

    def test_concurrent_requests_equal_alone(self, client: TestClient[Any], loaded: str, contract_case: ContractCase) -> None:
        alone = [self._forecast(client, self._batch(contract_case, [sid])) for sid in ("a", "b")]
        app = client.app

        async def both() -> list[wire.ForecastResult]:
            import httpx

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://worker") as ac:
                resps = await asyncio.gather(
                    *(
                        ac.post("/v1/forecast", content=wire.encode(self._batch(contract_case, [sid])),
                                headers={"content-type": wire.CONTENT_TYPE})
                        for sid in ("a", "b")
                    )
                )
            return [wire.decoder(wire.ForecastResult).decode(r.content) for r in resps]

        together = client.blocking_portal.call(both)  # type: ignore[union-attr]
        for a, t in zip(alone, together, strict=True):
            np.testing.assert_allclose(np.frombuffer(a.series[0].mean, "<f4"), np.frombuffer(t.series[0].mean, "<f4"), rtol=1e-3, atol=1e-3)

    def test_malformed_body_is_bad_input(self, client: TestClient[Any], loaded: str) -> None:
        resp = client.post("/v1/forecast", content=b"\xc1garbage", headers={"content-type": wire.CONTENT_TYPE})
        assert resp.status_code == 400
        assert msgspec.msgpack.decode(resp.content, type=wire.WorkerError).code == "bad_input"

    def test_unknown_model_is_not_loaded(self, client: TestClient[Any], loaded: str, contract_case: ContractCase) -> None:
        batch = self._batch(contract_case, ["a"])
        batch.key = "never-loaded"
        resp = _post(client, "/v1/forecast", batch)
        assert resp.status_code == 404
        assert msgspec.msgpack.decode(resp.content, type=wire.WorkerError).code == "model_not_loaded"

    def test_unload_is_idempotent(self, client: TestClient[Any], loaded: str, contract_case: ContractCase) -> None:
        first = msgspec.msgpack.decode(_post(client, "/v1/unload", wire.UnloadRequest(key=loaded)).content, type=wire.UnloadResponse)
        second = msgspec.msgpack.decode(_post(client, "/v1/unload", wire.UnloadRequest(key=loaded)).content, type=wire.UnloadResponse)
        assert (first.unloaded, second.unloaded) == (True, False)
        # reload so that later tests in a subclass still find it
        _post(client, "/v1/load", wire.LoadRequest(key=loaded, name=contract_case.name, path=contract_case.path, device="cpu"))
