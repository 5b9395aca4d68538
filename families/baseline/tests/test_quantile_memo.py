"""The memoised interval quantiles give statsforecast's own numbers, bitwise, and only wrap what they know."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import statsforecast.utils as sf_utils
from direct import CLASSES
from tollama_baseline import quantile_memo

LEVELS = [[80.0], [50.0, 80.0, 90.0], [10.0, 99.5], [33.33333333], [80]]


@pytest.fixture
def memo_off() -> Iterator[None]:
    """Each test starts from statsforecast's own ``_quantiles`` and leaves the memo as it found it."""
    was = quantile_memo.installed()
    quantile_memo.uninstall()
    yield
    quantile_memo.uninstall()
    if was:
        quantile_memo.install()


def _forecasts(model: str, y: np.ndarray, levels: list[float]) -> dict[str, Any]:
    return CLASSES[model](1 if model == "naive" else 12).forecast(y, h=18, level=levels)  # type: ignore[no-any-return]


@pytest.mark.parametrize("model", sorted(CLASSES))
def test_every_model_forecasts_bitwise_the_same_with_the_memo(memo_off: None, airline: np.ndarray, model: str) -> None:
    y = np.log(airline)
    own = {str(levels): _forecasts(model, y, levels) for levels in LEVELS}
    assert quantile_memo.install()
    for _ in range(2):  # the first round fills the memo, the second is answered from it
        for levels in LEVELS:
            memo, ref = _forecasts(model, y, levels), own[str(levels)]
            assert memo.keys() == ref.keys()
            for key in ref:
                np.testing.assert_array_equal(memo[key], ref[key], err_msg=f"{model} {levels} {key}")


def test_the_wrapper_replaces_every_module_s_copy_and_uninstall_restores_them(memo_off: None) -> None:
    import importlib

    modules = [importlib.import_module(name) for name in quantile_memo.MODULES]
    original = sf_utils._quantiles
    holders = [m for m in modules if getattr(m, "_quantiles", None) is original]
    assert {m.__name__ for m in holders} >= {"statsforecast.utils", "statsforecast.models"}  # where the baselines look it up
    assert quantile_memo.install() and quantile_memo.install()  # idempotent
    wrapper = sf_utils._quantiles
    assert wrapper is not original and all(m._quantiles is wrapper for m in holders)
    quantile_memo.uninstall()
    assert all(m._quantiles is original for m in holders)


@pytest.mark.parametrize(("distribution", "params"), [("normal", None), ("t", {"df": 4.5}), ("laplace", None), ("ged", {"shape": 1.5})])
def test_quantiles_of_every_distribution_match_and_hits_are_fresh_copies(memo_off: None, distribution: str, params: Any) -> None:
    levels = np.asarray([50.0, 80.0, 95.0])
    ref = sf_utils._quantiles(levels, distribution=distribution, dist_params=params)
    quantile_memo.install()
    first = sf_utils._quantiles(levels, distribution=distribution, dist_params=params)
    second = sf_utils._quantiles(levels, distribution, params)
    np.testing.assert_array_equal(first, ref)
    np.testing.assert_array_equal(second, ref)
    assert sf_utils._quantiles.cache_info().hits >= 1
    second[0] = -1.0  # a caller may write into its answer: the memo's own copy is not touched
    np.testing.assert_array_equal(sf_utils._quantiles(levels, distribution, params), ref)


def test_unhashable_parameters_go_to_the_library_s_own_call(memo_off: None) -> None:
    params = {"df": np.asarray([4.5])}  # an array value cannot be a key
    ref = sf_utils._quantiles([80.0], distribution="t", dist_params=params)
    quantile_memo.install()
    np.testing.assert_array_equal(sf_utils._quantiles([80.0], distribution="t", dist_params=params), ref)


def test_a_changed_signature_is_left_alone(memo_off: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def other(level: Any, distribution: str = "normal") -> Any:
        return level

    monkeypatch.setattr(sf_utils, "_quantiles", other)
    assert not quantile_memo.install()
    assert sf_utils._quantiles is other and not quantile_memo.installed()


def test_the_worker_adapter_installs_it() -> None:
    from tollama_baseline.adapter import create_adapter

    create_adapter()
    assert quantile_memo.installed()
