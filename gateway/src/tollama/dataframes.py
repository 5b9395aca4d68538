"""pandas DataFrames to the long-format door of ``POST /api/forecast`` and back, for the Python client.

A DataFrame goes as an Arrow IPC stream in a multipart body (a JSON ``request`` part with the
request's fields, a ``data`` part, an optional ``future`` part); the answer comes back as an Arrow
table and leaves as a DataFrame, its time column of the input's dtype. pyarrow and pandas are
imported only when a DataFrame is sent (pandas: the optional extra ``tollama[pandas]``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

ARROW = "application/vnd.apache.arrow.stream"


def is_frame(obj: Any) -> bool:
    return type(obj).__module__.split(".", 1)[0] == "pandas" and hasattr(obj, "columns")


@dataclass
class Call:
    files: dict[str, tuple[str, bytes, str]]
    form: dict[str, str]
    headers: dict[str, str]
    datetime_time: str | None = None
    tz: Any = None


def _arrow(df: Any) -> bytes:
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _time_column(df: Any, given: str | None) -> str | None:
    from tollama.tables import TIME

    if given is not None:
        return given if given in df.columns else None
    lowered = {str(c).lower(): c for c in df.columns}
    return next((lowered[a] for a in TIME if a in lowered), None)


def encode(df: Any, future_df: Any, fields: dict[str, Any], *, accept: str = ARROW) -> Call:
    import pandas as pd

    files = {"data": ("data.arrows", _arrow(df), ARROW)}
    if future_df is not None:
        if not is_frame(future_df):
            raise TypeError("future_df must be a pandas DataFrame like df")
        files["future"] = ("future.arrows", _arrow(future_df), ARROW)
    time_col = _time_column(df, fields.get("time_col"))
    call = Call(files=files, form={"request": json.dumps(fields)}, headers={"accept": accept})
    if time_col is not None and pd.api.types.is_datetime64_any_dtype(df[time_col]):
        call.datetime_time = time_col
        call.tz = getattr(df[time_col].dt, "tz", None)
    return call


def decode(body: bytes, call: Call) -> Any:
    import pandas as pd
    import pyarrow as pa

    out = pa.ipc.open_stream(body).read_all().to_pandas()
    if call.datetime_time is not None and call.datetime_time in out.columns:
        stamps = pd.to_datetime(out[call.datetime_time], utc=call.tz is not None)
        out[call.datetime_time] = stamps.dt.tz_convert(call.tz) if call.tz is not None else stamps
    return out


def leaderboard(resp: dict[str, Any]) -> Any:
    """An evaluation's leaderboard as a DataFrame: ``model, rank``, one column per metric, ``win_rate, skill,
    inference_ms`` (as AutoGluon's ``leaderboard()``: one row per model, best first)."""
    import pandas as pd

    metrics = list(resp.get("metrics") or [])
    rows = [{"model": r["model"], "rank": r["rank"], **{m: r["metrics"].get(m) for m in metrics},
             "win_rate": r["win_rate"], "skill": r["skill"], "inference_ms": r["inference_ms"]} for r in resp["leaderboard"]]
    return pd.DataFrame(rows, columns=["model", "rank", *metrics, "win_rate", "skill", "inference_ms"])
