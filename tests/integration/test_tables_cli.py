"""``tollama run --input/--output`` with long-format files against a real ``tollama serve`` (baseline)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import co2, tollama_cli

pytestmark = pytest.mark.slow


def test_an_unsorted_csv_forecasts_and_writes_parquet(baseline_server: dict[str, str], tmp_path: Path) -> None:
    values, dates = co2(40)
    rows = [f"{uid},{d},{v * k}" for uid, k in (("a", 1), ("b", 3)) for d, v in zip(dates, values, strict=True)]
    data = tmp_path / "series.csv"
    data.write_text("unique_id,ds,y\n" + "\n".join(rows[::-1]) + "\n")  # newest first
    out = tmp_path / "forecast.parquet"
    ran = tollama_cli(baseline_server, "run", "naive", "--input", str(data), "--horizon", "3", "--output", str(out))
    assert ran.returncode == 0, ran.stderr
    table = pq.read_table(out).to_pylist()
    # Series in the order of their first row (the reversed file lists b first), each sorted by time.
    assert [(r["unique_id"], r["mean"]) for r in table] == [("b", values[-1] * 3)] * 3 + [("a", values[-1])] * 3
    dup = tmp_path / "dup.csv"
    dup.write_text(data.read_text() + f"a,{dates[5]},1\n")
    refused = tollama_cli(baseline_server, "run", "naive", "--input", str(dup), "--horizon", "3")
    assert refused.returncode == 2
    assert f"line {len(rows) + 2} (row {len(rows) + 1}): duplicate of ('a', '{dates[5]}')" in refused.stderr
