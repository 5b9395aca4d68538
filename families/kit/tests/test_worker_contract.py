"""The kit's own contract run, against a numpy adapter (seasonal naive with residual quantiles).

This proves the kit (wire codec, worker app, fusion) on its own; each real family runs
the same suite against its upstream library.
"""

from __future__ import annotations

import numpy as np
import pytest
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput


class NaiveAdapter:
    family = "kit-naive"

    def describe(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        return Loaded(handle=name, device=device)

    def unload(self, loaded: Loaded) -> None:
        return None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        out = []
        for s in batch.series:
            y = s.target
            if np.isnan(y).any():
                raise BadInput(f"series {s.id!r} has missing values")
            last = y[:, -1:]
            mean = np.repeat(last, batch.horizon, axis=1)
            sd = np.std(np.diff(y, axis=1), axis=1, keepdims=True)
            z = np.array([[-1.2816], [0.0], [1.2816]])[: len(batch.quantiles)]
            q = mean[None, :, :] + z[:, :, None] * sd[None, :, :] * 0 + (np.array(batch.quantiles) - 0.5)[:, None, None] * sd[None]
            out.append(SeriesOutput(id=s.id, mean=mean, quantiles=q))
        return ForecastOutput(series=out)


class TestNaiveContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls) -> ContractCase:
        return ContractCase(adapter_factory=NaiveAdapter, name="naive", path="/nonexistent", allows_missing=False)


def test_interpolate_keeps_the_requested_level_order() -> None:
    from tollama_kit.quantiles import interpolate

    native = [0.1, 0.5, 0.9]
    values = np.array([[1.0], [5.0], [9.0]])
    out = interpolate(native, values, [0.9, 0.1, 0.3])
    np.testing.assert_allclose(out[:, 0], [9.0, 1.0, 3.0])
