"""``tollama run --input/--future/--output``: long-format files read and written by extension."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from tollama.cli.inputs import InputError, read_input, write_output

UNSORTED = "id,timestamp,value\nco2,2024-01-03,3\nco2,2024-01-01,1\nco2,2024-01-02,2\n"


def test_rows_in_any_order_are_sorted_by_time(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    path.write_text(UNSORTED)
    series, names = read_input(path)
    assert series == [{"id": "co2", "target": [1.0, 2.0, 3.0], "timestamps": ["2024-01-01", "2024-01-02", "2024-01-03"]}]
    assert names is not None and (names.id, names.time) == ("id", "timestamp")


def test_only_real_duplicates_are_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    path.write_text(UNSORTED + "other,2024-01-01,5\nco2,2024-01-02,9\n")
    with pytest.raises(InputError) as err:
        read_input(path)
    assert str(err.value) == f"{path}: line 6 (row 5): duplicate of ('co2', '2024-01-02'), already given at line 4 (row 3)"


def test_a_file_without_an_id_column_is_one_series(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text("timestamp,value\n2024-01-02,2\n2024-01-01,1\n")
    assert read_input(path)[0] == [{"id": "series", "target": [1.0, 2.0], "timestamps": ["2024-01-01", "2024-01-02"]}]


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_parquet_and_arrow_inputs(tmp_path: Path, suffix: str) -> None:
    table = pa_csv.read_csv(io.BytesIO(UNSORTED.encode()))
    path = tmp_path / f"series{suffix}"
    if suffix == ".parquet":
        pq.write_table(table, path)
    else:
        feather.write_feather(table, path)
    series, _ = read_input(path)
    assert series[0]["target"] == [1.0, 2.0, 3.0] and series[0]["timestamps"] == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_a_future_table_gives_the_horizon_covariates(tmp_path: Path) -> None:
    data, future = tmp_path / "d.csv", tmp_path / "f.csv"
    data.write_text("unique_id,ds,y,price\na,2024-01-02,2,20\na,2024-01-01,1,10\n")
    future.write_text("unique_id,ds,price\na,2024-01-04,40\na,2024-01-03,30\n")
    series, _ = read_input(data, future)
    assert series[0]["past_covariates"] == {"price": [10.0, 20.0]}
    assert series[0]["future_covariates"] == {"price": [30.0, 40.0]}


RESPONSE = {"model": "m", "forecasts": [
    {"id": "a", "mean": [1.5, 2.5], "quantiles": {"0.1": [1.0, 2.0], "0.9": [2.0, 3.0]}, "timestamps": ["2024-01-04", "2024-01-05"]},
    {"id": "b", "mean": [7.0, 8.0], "quantiles": {"0.1": [6.0, 7.0], "0.9": [8.0, 9.0]}, "timestamps": ["2024-01-04", "2024-01-05"]},
]}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".arrow", ".arrows"])
def test_output_is_a_long_table_in_the_format_of_its_extension(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("item_id,date,target\na,2024-01-01,1\n")
    _, names = read_input(source)
    out = tmp_path / f"forecast{suffix}"
    write_output(out, RESPONSE, names)
    if suffix == ".csv":
        table = pa_csv.read_csv(out, convert_options=pa_csv.ConvertOptions(column_types={"date": pa.string()}))
    elif suffix == ".parquet":
        table = pq.read_table(out)
    elif suffix == ".arrow":
        table = feather.read_table(out)
    else:
        table = pa.ipc.open_stream(out.read_bytes()).read_all()
    assert table.column_names == ["item_id", "date", "mean", "0.1", "0.9"]
    assert table.to_pylist()[3] == {"item_id": "b", "date": "2024-01-05", "mean": 8.0, "0.1": 7.0, "0.9": 9.0}


def test_json_output_and_unknown_extensions(tmp_path: Path) -> None:
    write_output(tmp_path / "f.json", RESPONSE, None)
    assert json.loads((tmp_path / "f.json").read_text()) == RESPONSE
    with pytest.raises(InputError, match="unknown extension"):
        write_output(tmp_path / "f.xlsx", RESPONSE, None)
