"""Test support every family suite shares: the real worker app with a model loaded, wire helpers,
the real data sets, checkpoint edits. Test-only (it imports Litestar's test client, which only the
family test locks carry); never imported by an adapter.

A family's ``tests/conftest.py`` builds its tiny checkpoint and hands the worker fixture to
:func:`loaded_worker`; its tests call the worker through :class:`WorkerCalls`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from tollama_kit import protocol as wire
from tollama_kit.adapter import Adapter
from tollama_kit.arrays import pack

QUANTILES = (0.1, 0.5, 0.9)
Forecast = dict[str, Any]
"""``{"id", "mean": (n_targets, H), "quantiles": (n_levels, n_targets, H)}``."""


def session_fixtures(key: str, model: str, build: Callable[[str, Path], Any], adapter: Callable[[], Adapter]) -> tuple[Any, ...]:
    """The session fixtures a family's ``tests/conftest.py`` binds to names (pytest finds them there)::

        _one_torch_thread, checkpoint, worker, co2, macro = testing.session_fixtures("toto", MODEL, build, adapter)

    ``checkpoint``: the tiny checkpoint ``build(model, out_dir)`` writes; ``worker``: the real worker app
    with it loaded as ``key``; ``co2`` / ``macro``: the real data sets; and one torch thread for the session."""
    import pytest

    @pytest.fixture(scope="session", autouse=True)
    def _one_torch_thread() -> None:
        one_torch_thread()

    @pytest.fixture(scope="session")
    def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
        return str(build(model, tmp_path_factory.mktemp(f"{key}-tiny")))

    @pytest.fixture(scope="session")
    def worker(checkpoint: str) -> Iterator[Any]:
        with loaded_worker(adapter(), key, model, checkpoint) as client:
            yield client

    @pytest.fixture(scope="session")
    def co2() -> np.ndarray:
        return co2_weekly()

    @pytest.fixture(scope="session")
    def macro() -> dict[str, np.ndarray]:
        return us_macro()

    return _one_torch_thread, checkpoint, worker, co2, macro


def one_torch_thread() -> None:
    """The test machine's cores are shared: more than one intra-op thread makes every call slower."""
    import torch

    torch.set_num_threads(1)


@contextmanager
def loaded_worker(adapter: Adapter, key: str, name: str, path: str) -> Iterator[Any]:
    """The real worker app (protocol v1, MessagePack) serving ``adapter``, with ``path`` loaded as ``key``."""
    from litestar.testing import TestClient

    from tollama_kit.server import create_worker_app

    with TestClient(create_worker_app(adapter)) as client:
        req = wire.LoadRequest(key=key, name=name, path=path, device="cpu")
        resp = client.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
        assert resp.status_code == 200, resp.content
        yield client


def wire_series(sid: str, target: np.ndarray, *, past: dict[str, Any] | None = None, future: dict[str, Any] | None = None,
                static: dict[str, float | str] | None = None) -> wire.Series:
    """One series as the gateway sends it: numeric covariates packed, categorical ones as lists of str."""
    rows = np.atleast_2d(target)

    def packed(d: dict[str, Any] | None) -> dict[str, bytes | list[str]]:
        return {k: (v if isinstance(v, list) else pack(v)) for k, v in (d or {}).items()}

    return wire.Series(id=sid, target=pack(rows), length=rows.shape[1], n_targets=rows.shape[0],
                       past_covariates=packed(past), future_covariates=packed(future), static_covariates=static or {})


def unusable_covariate_cases(length: int, horizon: int) -> list[tuple[dict[str, Any], str]]:
    """Keyword arguments of :func:`wire_series` carrying covariates a model without categorical or static
    inputs cannot use (a categorical past one, a categorical known-future one, a static one), each with the
    words its refusal names them by (``refuse_unusable``)."""
    return [
        ({"past": {"season": ["w"] * length}}, "categorical covariates ['season']"),
        ({"future": {"holiday": ["no"] * (length + horizon)}}, "categorical covariates ['holiday']"),
        ({"static": {"site": 1.0}}, "static covariates ['site']"),
    ]


def worker_error(resp: Any) -> wire.WorkerError:
    return msgspec.msgpack.decode(resp.content, type=wire.WorkerError)


@dataclass(frozen=True)
class WorkerCalls:
    """Forecast calls to one loaded model of a worker app (``key``), with a default quantile grid."""

    key: str
    quantiles: Sequence[float] = QUANTILES

    def post(self, client: Any, series: list[wire.Series], horizon: int, options: dict[str, Any] | None = None,
             quantiles: Sequence[float] | None = None) -> Any:
        batch = wire.ForecastBatch(key=self.key, horizon=horizon, quantiles=list(quantiles or self.quantiles),
                                   series=series, options=options or {})
        return client.post("/v1/forecast", content=wire.encode(batch), headers={"content-type": wire.CONTENT_TYPE})

    def forecast(self, client: Any, series: list[wire.Series], horizon: int, options: dict[str, Any] | None = None,
                 quantiles: Sequence[float] | None = None) -> tuple[list[Forecast], list[str]]:
        """The decoded forecasts (asserting a 200) and the batch's warnings."""
        levels = list(quantiles or self.quantiles)
        resp = self.post(client, series, horizon, options, levels)
        assert resp.status_code == 200, resp.content
        result = wire.decoder(wire.ForecastResult).decode(resp.content)
        out = []
        for s in result.series:
            mean = np.frombuffer(s.mean, "<f4").reshape(s.n_targets, horizon)
            q = np.frombuffer(s.quantiles, "<f4").reshape(len(levels), s.n_targets, horizon)
            out.append({"id": s.id, "mean": mean, "quantiles": q})
        return out, result.warnings

    def assert_refused(self, client: Any, series: list[wire.Series], horizon: int, named: str,
                       options: dict[str, Any] | None = None) -> None:
        """A batch carrying inputs the model cannot use is 422 ``unsupported`` naming them (``named``),
        whatever ``covariates_mode`` says: the gateway alone applies that policy, the worker never reads it."""
        for mode in (None, "best_effort", "strict"):
            resp = self.post(client, series, horizon, {**(options or {}), **({"covariates_mode": mode} if mode else {})})
            assert resp.status_code == 422, resp.content
            error = worker_error(resp)
            assert error.code == "unsupported", error
            assert named in error.message, error.message


@dataclass(frozen=True)
class DirectCalls:
    """The upstream library called directly (a family's ``tests/*_direct.py`` ``load`` and ``run``),
    through the same JSON request ``fixtures_cli.py direct`` reads."""

    model: str
    load: Callable[[str, str], Any]
    run: Callable[[str, Any, dict[str, Any]], dict[str, Any]]
    quantiles: Sequence[float] = QUANTILES

    def __call__(self, checkpoint: str, series: list[dict[str, Any]], horizon: int, options: dict[str, Any] | None = None,
                 quantiles: Sequence[float] | None = None) -> list[Forecast]:
        request = {"horizon": horizon, "quantiles": list(quantiles or self.quantiles), "series": series, "options": options or {}}
        request = json.loads(json.dumps(request))  # exactly what fixtures_cli would read
        handle = self.load(self.model, checkpoint)
        return [{"mean": np.asarray(s["mean"]), "quantiles": np.asarray(s["quantiles"])}
                for s in self.run(self.model, handle, request)["series"]]


def assert_same(ours: Forecast, theirs: Forecast, tol: float = 1e-4) -> None:
    np.testing.assert_allclose(ours["mean"], theirs["mean"], rtol=tol, atol=tol)
    np.testing.assert_allclose(ours["quantiles"], theirs["quantiles"], rtol=tol, atol=tol)


def co2_weekly(last: int = 512) -> np.ndarray:
    """statsmodels' weekly co2 (Mauna Loa), NaNs interpolated, the last ``last`` weeks."""
    from statsmodels.datasets import co2 as dataset

    return dataset.load_pandas().data["co2"].interpolate().to_numpy(np.float32)[-last:]


def us_macro(columns: Sequence[str] = ("realgdp", "realcons", "realinv", "unemp", "realint", "cpi")) -> dict[str, np.ndarray]:
    """statsmodels' quarterly US macrodata (203 quarters), the named columns."""
    from statsmodels.datasets import macrodata

    data = macrodata.load_pandas().data
    return {c: data[c].to_numpy(np.float32) for c in columns}


def tensors_of(path: Path) -> dict[str, Any]:
    """Every tensor of a safetensors file, by its stored name."""
    from safetensors.torch import load_file

    return dict(load_file(str(path)))


def altered_checkpoint(checkpoint: str, out: Path, edit: Callable[[dict[str, Any]], None],
                       weights: str = "model.safetensors") -> str:
    """A copy of ``checkpoint`` in ``out`` whose weights file went through ``edit`` (rename, drop, add a tensor)."""
    from safetensors.torch import save_file

    shutil.copytree(checkpoint, out)
    state = tensors_of(out / weights)
    edit(state)
    save_file(state, str(out / weights))
    return str(out)
