"""Calls the official ``nixtla`` client makes, against a tollama server; run in the interop venv.

    python tests/interop/nixtla_calls.py BASE_URL DATA.csv OUT.json

``DATA.csv`` is long format (unique_id, ds, y, price). Each call's result (a DataFrame as records,
or the error text the client raised) goes into ``OUT.json`` for the gateway-side test to check.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
from nixtla import NixtlaClient
from nixtla._http import ApiError


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records"))


def error_of(call: Any) -> dict[str, Any]:
    try:
        call()
    except ApiError as exc:
        return {"status": exc.status_code, "text": str(exc)}
    return {"status": None, "text": "no error"}


def main(base_url: str, data: str, out: str) -> None:
    df = pd.read_csv(data, parse_dates=["ds"])
    client = NixtlaClient(base_url=base_url, api_key="anything", max_retries=1, retry_interval=1)
    history = df.drop(columns=["price"])
    h = 6
    results: dict[str, Any] = {"models": client.list_models()}
    results["forecast_level"] = records(client.forecast(history, h=h, model="auto-ets", level=[80, 95], freq="W-SAT"))
    results["forecast_quantiles"] = records(client.forecast(history, h=h, model="auto-ets", quantiles=[0.1, 0.5, 0.9], freq="W-SAT"))
    # Exogenous features: price known for the horizon (X_df), and one historical-only feature.
    with_exog = df.assign(promo=np.arange(len(df)) % 3)
    last = df.groupby("unique_id")["ds"].max()
    future = pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range(t, periods=h + 1, freq="W-SAT")[1:], "price": 1.0})
                        for uid, t in last.items()])
    results["forecast_exog"] = records(client.forecast(with_exog, h=h, model="auto-ets", X_df=future, hist_exog_list=["promo"], freq="W-SAT"))
    results["cross_validation"] = records(client.cross_validation(history, h=h, n_windows=3, step_size=h, model="naive", level=[90], freq="W-SAT"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        results["anomalies"] = records(client.detect_anomalies(history, model="auto-ets", level=99, freq="W-SAT"))
    if hasattr(client, "detect_anomalies_online"):
        results["anomalies_online"] = records(client.detect_anomalies_online(history, h=4, detection_size=8, model="naive", level=95, freq="W-SAT"))
    # Over 1 MB of JSON: the client compresses the body with zstd.
    big = pd.concat([history.assign(unique_id=history["unique_id"] + f"-{k}") for k in range(60)])
    results["forecast_zstd"] = records(client.forecast(big, h=2, model="naive", freq="W-SAT"))
    results["unknown_model"] = error_of(lambda: client.forecast(history, h=h, model="no-such-model", freq="W-SAT"))
    results["finetune"] = error_of(lambda: client.forecast(history, h=h, model="auto-ets", finetune_steps=5, freq="W-SAT"))
    with open(out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
