"""The Nixtla translator's mapping of the client's concatenated arrays to tollama series."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from tollama.api.nixtla import NixtlaSeries, _levels, _Split, _windows
from tollama.errors import InvalidValue


def test_future_features_are_known_future_covariates_in_the_split_form() -> None:
    # Two series (3 and 2 points), h = 2; feature 0 is future (X_future has it), feature 1 historical.
    s = NixtlaSeries(y=[1, 2, 3, 10, 20], sizes=[3, 2], X=[[0.1, 0.2, 0.3, 1.1, 1.2], [5, 6, 7, 8, 9]], X_future=[[0.4, 0.5, 1.3, 1.4]])
    split = _Split(s, 2)
    first, second = split.series(0), split.series(1)
    assert first.target == [1, 2, 3] and second.target == [10, 20]
    assert first.past_covariates == {"x0": [0.1, 0.2, 0.3], "x1": [5, 6, 7]}
    assert first.future_covariates == {"x0": [0.4, 0.5]}
    assert second.past_covariates == {"x0": [1.1, 1.2], "x1": [8, 9]} and second.future_covariates == {"x0": [1.3, 1.4]}


def test_a_cut_history_knows_its_future_features_from_x() -> None:
    s = NixtlaSeries(y=[1, 2, 3, 4, 5], sizes=[5], X=[[10, 20, 30, 40, 50], [7, 7, 7, 7, 7]])
    cut = _Split(s, 2).series(0, end=3, future=False, hist_only=[1])
    assert cut.target == [1, 2, 3]
    assert cut.past_covariates == {"x0": [10, 20, 30], "x1": [7, 7, 7]}
    assert cut.future_covariates == {"x0": [40, 50]}


def test_levels_map_to_quantiles_and_windows_to_cut_points() -> None:
    quantiles, keys = _levels([80, 95, 0])
    assert quantiles == [0.025, 0.1, 0.5, 0.9, 0.975]
    assert [k[:2] for k in keys] == [("80", "0.1"), ("95", "0.025")]
    split = _Split(NixtlaSeries(y=[0.0] * 20, sizes=[20]), 3)
    assert _windows(split, 0, 3, 3, 2) == [13, 15, 17]
    with pytest.raises(InvalidValue, match="too few"):
        _windows(split, 0, 3, 10, 3)
    with pytest.raises(InvalidValue, match="sizes add up to 4"):
        _Split(NixtlaSeries(y=[1, 2, 3], sizes=[4]), 1)


@pytest.mark.parametrize("path", ["/v2/anomaly_detection", "/v2/online_anomaly_detection"])
def test_anomaly_detection_at_level_zero_is_a_400_naming_the_level(client: TestClient[Any], path: str) -> None:
    """Found by schemathesis: level 0 is no interval, and indexing the missing one was a 500."""
    body = {"series": {"y": [1.0, 2.0, 3.0, 4.0], "sizes": [4]}, "model": "naive", "h": 1, "level": 0}
    resp = client.post(path, json=body)
    assert (resp.status_code, resp.json()["code"], resp.json()["path"]) == (400, "invalid_value", "$.level")
