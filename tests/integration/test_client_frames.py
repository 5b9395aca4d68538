"""``tollama.client`` with pandas DataFrames, blocking and async, against a real ``tollama serve``."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
import pytest
from conftest import co2
from tollama.client import AsyncClient, Client, InvalidRequestError, ModelNotFoundError, ServerUnreachable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(baseline_server: dict[str, str]) -> str:
    return f"http://127.0.0.1:{baseline_server['TOLLAMA_PORT']}"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    values, dates = co2(60)
    df = pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.to_datetime(dates), "y": [v * k for v in values]}) for uid, k in (("a", 1), ("b", 2))])
    return df.sample(frac=1.0, random_state=0)  # rows in any order


def _native(c: Client, df: pd.DataFrame) -> dict[str, Any]:
    series = [{"id": uid, "target": g.sort_values("ds")["y"].tolist(), "timestamps": g.sort_values("ds")["ds"].dt.strftime("%Y-%m-%d").tolist()}
              for uid, g in df.groupby("unique_id")]
    return c.forecast({"model": "auto-ets", "horizon": 4, "quantiles": [0.1, 0.9], "series": series})  # type: ignore[no-any-return]


def test_a_dataframe_in_a_dataframe_out(base: str, frame: pd.DataFrame) -> None:
    with Client(base) as c:
        out = c.forecast(frame, model="auto-ets", horizon=4, quantiles=[0.1, 0.9])
        native = _native(c, frame)
    assert list(out.columns) == ["unique_id", "ds", "mean", "0.1", "0.9"]
    assert pd.api.types.is_datetime64_any_dtype(out["ds"])
    assert list(out["unique_id"]) == ["a"] * 4 + ["b"] * 4
    assert out["mean"].tolist() == pytest.approx([v for f in native["forecasts"] for v in f["mean"]], rel=1e-6)
    assert out["0.9"].tolist() == pytest.approx([v for f in native["forecasts"] for v in f["quantiles"]["0.9"]], rel=1e-6)
    assert [t.strftime("%Y-%m-%d") for t in out["ds"][:4]] == native["forecasts"][0]["timestamps"]


def test_future_df_and_the_async_client(base: str, frame: pd.DataFrame) -> None:
    df = frame.assign(price=1.0)
    last = frame["ds"].max()
    future = pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range(last, periods=5, freq="W-SAT")[1:], "price": 2.0}) for uid in ("a", "b")])

    async def run() -> pd.DataFrame:
        async with AsyncClient(base) as c:
            return await c.forecast(df, future_df=future, model="auto-ets", horizon=4)  # type: ignore[no-any-return]

    out = asyncio.run(run())
    with Client(base) as c:
        native = _native(c, frame)
    assert out["mean"].tolist() == pytest.approx([v for f in native["forecasts"] for v in f["mean"]], rel=1e-6)


def test_typed_errors_carry_the_code(base: str, frame: pd.DataFrame) -> None:
    with Client(base) as c:
        with pytest.raises(ModelNotFoundError) as missing:
            c.forecast(frame, model="no-such-model", horizon=4)
        assert missing.value.code == "model_not_found" and missing.value.status == 404
        with pytest.raises(InvalidRequestError) as dup:
            c.forecast(pd.concat([frame, frame.head(1)]), model="auto-ets", horizon=4)
        assert dup.value.code == "invalid_table" and "duplicate" in str(dup.value)
        events: list[dict[str, Any]] = []
        with pytest.raises(ModelNotFoundError):
            c.pull_model("no-such-model", progress=events.append)
    with pytest.raises(ServerUnreachable), Client("http://127.0.0.1:9", timeout=5) as down:
        down.tags()


def test_evaluate_a_dataframe_answers_the_leaderboard_as_a_dataframe(base: str, frame: pd.DataFrame) -> None:
    """``client.evaluate(df, models=..., horizon=..., windows=...)``: the leaderboard of the same evaluation sent as JSON."""
    fields: dict[str, Any] = {"models": ["naive", "seasonal-naive"], "horizon": 4, "windows": 2, "metrics": ["MASE", "MAE"]}
    series = [{"id": uid, "target": g.sort_values("ds")["y"].tolist(), "timestamps": g.sort_values("ds")["ds"].dt.strftime("%Y-%m-%d").tolist()}
              for uid, g in frame.groupby("unique_id")]
    with Client(base) as c:
        board = c.evaluate(frame, **fields)
        native = c.evaluate({**fields, "series": series})

    async def run() -> pd.DataFrame:
        async with AsyncClient(base) as ac:
            return await ac.evaluate(frame, **fields)  # type: ignore[no-any-return]

    assert list(board.columns) == ["model", "rank", "MASE", "MAE", "win_rate", "skill", "inference_ms"]
    assert board["model"].tolist() == [r["model"] for r in native["leaderboard"]]
    assert board["MASE"].tolist() == pytest.approx([r["metrics"]["MASE"] for r in native["leaderboard"]])
    assert asyncio.run(run())["MAE"].tolist() == pytest.approx(board["MAE"].tolist())
