"""Long-format tables on ``POST /api/forecast``: CSV, Parquet and Arrow in, JSON or tables out."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest
from litestar.testing import TestClient

MODEL = "chronos-bolt-tiny"
# Rows out of order on purpose: series b first, each series' days shuffled.
CSV = (
    "unique_id,ds,y,temp\n"
    "b,2024-01-03,30,3\n"
    "a,2024-01-02,2,1.5\n"
    "b,2024-01-01,10,1\n"
    "a,2024-01-03,3,2.5\n"
    "b,2024-01-02,20,2\n"
    "a,2024-01-01,1,0.5\n"
)
JSON_REQUEST = {
    "model": MODEL, "horizon": 2, "quantiles": [0.1, 0.9],
    "series": [
        {"id": "b", "target": [10, 20, 30], "timestamps": ["2024-01-01", "2024-01-02", "2024-01-03"], "past_covariates": {"temp": [1, 2, 3]}},
        {"id": "a", "target": [1, 2, 3], "timestamps": ["2024-01-01", "2024-01-02", "2024-01-03"], "past_covariates": {"temp": [0.5, 1.5, 2.5]}},
    ],
}
QUERY = f"/api/forecast?model={MODEL}&horizon=2&quantiles=0.1,0.9"


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _arrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa_ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue()


def _table() -> pa.Table:
    return pa_csv.read_csv(io.BytesIO(CSV.encode()))


def _comparable(body: dict[str, Any]) -> list[Any]:
    return [(f["id"], f["timestamps"], f["mean"], f["quantiles"]) for f in body["forecasts"]]


@pytest.mark.parametrize(("media", "encode"), [
    ("text/csv", CSV.encode),
    ("application/vnd.apache.parquet", lambda: _parquet(_table())),
    ("application/vnd.apache.arrow.stream", lambda: _arrow(_table())),
])
def test_a_table_body_forecasts_as_its_json_request(client: TestClient[Any], media: str, encode: Any) -> None:
    expected = client.post("/api/forecast", json=JSON_REQUEST)
    assert expected.status_code == 200, expected.text
    got = client.post(QUERY, content=encode(), headers={"content-type": media})
    assert got.status_code == 200, got.text
    assert _comparable(got.json()) == _comparable(expected.json())
    assert got.json()["forecasts"][0]["timestamps"] == ["2024-01-04", "2024-01-05"]


@pytest.mark.parametrize(("accept", "read"), [
    ("text/csv", lambda b: pa_csv.read_csv(io.BytesIO(b), convert_options=pa_csv.ConvertOptions(column_types={"day": pa.string()}))),
    ("application/vnd.apache.parquet", lambda b: pq.read_table(io.BytesIO(b))),
    ("application/vnd.apache.arrow.stream", lambda b: pa_ipc.open_stream(b).read_all()),
])
def test_the_answer_is_a_long_table_by_accept(client: TestClient[Any], accept: str, read: Any) -> None:
    body = CSV.replace("unique_id,ds", "item_id,day").encode()
    resp = client.post(QUERY + "&time_col=day", content=body, headers={"content-type": "text/csv", "accept": accept})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(accept)
    table = read(resp.content)
    assert table.column_names == ["item_id", "day", "mean", "0.1", "0.9"]
    rows = table.to_pylist()
    assert [(r["item_id"], str(r["day"])) for r in rows] == [("b", "2024-01-04"), ("b", "2024-01-05"), ("a", "2024-01-04"), ("a", "2024-01-05")]
    native = client.post("/api/forecast", json=JSON_REQUEST).json()["forecasts"]
    assert [r["mean"] for r in rows] == pytest.approx([v for f in native for v in f["mean"]])
    assert [r["0.9"] for r in rows] == pytest.approx([v for f in native for v in f["quantiles"]["0.9"]])


def test_a_json_body_can_ask_for_a_table(client: TestClient[Any]) -> None:
    resp = client.post("/api/forecast", json=JSON_REQUEST, headers={"accept": "text/csv"})
    assert resp.status_code == 200, resp.text
    assert resp.text.splitlines()[0] == '"unique_id","ds","mean","0.1","0.9"'


def test_multipart_with_a_request_part_and_a_future_table(client: TestClient[Any]) -> None:
    future = "unique_id,ds,temp\na,2024-01-05,4.5\nb,2024-01-04,4\nb,2024-01-05,5\na,2024-01-04,3.5\n"
    request = {"model": "chronos-2", "horizon": 2, "quantiles": [0.5]}
    resp = client.post("/api/forecast", files={
        "data": ("data.csv", CSV.encode(), "text/csv"),
        "future": ("future.parquet", _parquet(pa_csv.read_csv(io.BytesIO(future.encode()))), "application/vnd.apache.parquet"),
    }, data={"request": json.dumps(request)})
    assert resp.status_code == 200, resp.text
    # The same forecast as the JSON request that gives temp as one known-future covariate (T + H values).
    native = {**request, "series": [
        {"id": "b", "target": [10, 20, 30], "timestamps": ["2024-01-01", "2024-01-02", "2024-01-03"], "future_covariates": {"temp": [1, 2, 3, 4, 5]}},
        {"id": "a", "target": [1, 2, 3], "timestamps": ["2024-01-01", "2024-01-02", "2024-01-03"], "future_covariates": {"temp": [0.5, 1.5, 2.5, 3.5, 4.5]}},
    ]}
    expected = client.post("/api/forecast", json=native)
    assert expected.status_code == 200, expected.text
    assert _comparable(resp.json()) == _comparable(expected.json())
    assert resp.json()["warnings"] == expected.json()["warnings"]


def test_static_columns_become_static_covariates(client: TestClient[Any]) -> None:
    body = "id,timestamp,value,static_region\na,2024-01-01,1,north\na,2024-01-02,2,north\n"
    ok = client.post(f"/api/forecast?model={MODEL}&horizon=1", content=body, headers={"content-type": "text/csv"})
    assert ok.status_code == 200, ok.text
    assert any("static_covariates: dropped" in w for w in ok.json()["warnings"])
    bad = client.post(f"/api/forecast?model={MODEL}&horizon=1", content=body.replace("2,north", "2,south"), headers={"content-type": "text/csv"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_table" and bad.json()["line"] == 3 and "static_region" in bad.json()["error"]


@pytest.mark.parametrize(("body", "line", "words"), [
    ("id,ds,y\na,2024-01-02,1\nb,2024-01-01,1\na,2024-01-02,2\n", 4, ["duplicate", "'a'", "2024-01-02", "line 2"]),
    ("id,ds,y\na,2024-01-01,1\na,2024-02-30,2\n", 3, ["unparseable", "2024-02-30"]),
    ("id,ds,y\na,2024-01-01,1\na,2024-01-02,abc\n", 3, ["'y'", "'abc'", "not a number"]),
    ("id,ds,y\na,2024-01-01,1\na,2024-01-02,2,7\n", 3, ["expected 3 columns, got 4"]),
    ("id,ds,y\na,2024-01-01,1\n,2024-01-02,2\n", 3, ["series id"]),
])
def test_bad_csv_rows_are_named_by_line(client: TestClient[Any], body: str, line: int, words: list[str]) -> None:
    resp = client.post(QUERY, content=body, headers={"content-type": "text/csv"})
    assert resp.status_code == 400, resp.text
    err = resp.json()
    assert err["code"] == "invalid_table" and err["line"] == line, err
    for word in words:
        assert word in err["error"]


@pytest.mark.parametrize(("body", "words"), [
    ("series,value\na,1\n", ["no time column", "ds, timestamp"]),
    ("ds,y\n2024-01-01,1\n", ["no id column", "unique_id"]),
    ("id,ds,amount\na,2024-01-01,1\n", ["no target column", "y, target, value"]),
])
def test_missing_columns_are_named(client: TestClient[Any], body: str, words: list[str]) -> None:
    resp = client.post(QUERY, content=body, headers={"content-type": "text/csv"})
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_table"
    for word in words:
        assert word in resp.json()["error"]


def test_a_body_that_is_not_parquet_and_a_parquet_row_error(client: TestClient[Any]) -> None:
    resp = client.post(QUERY, content=b"id,ds,y\n", headers={"content-type": "application/vnd.apache.parquet"})
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_table" and "Parquet" in resp.json()["error"]
    table = pa.table({"id": ["a", "a"], "ds": ["2024-01-01", "soon"], "y": [1.0, 2.0]})
    resp = client.post(QUERY, content=_parquet(table), headers={"content-type": "application/vnd.apache.parquet"})
    assert resp.status_code == 400 and resp.json()["row"] == 2 and "'soon'" in resp.json()["error"]


def test_query_errors_and_the_body_limit(client: TestClient[Any], settings: Any) -> None:
    resp = client.post(f"/api/forecast?model={MODEL}&horizon=soon", content=CSV, headers={"content-type": "text/csv"})
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_value" and resp.json()["path"] == "$.horizon"
    resp = client.post(f"/api/forecast?model={MODEL}&horizon=2&quantiles=1.5", content=CSV, headers={"content-type": "text/csv"})
    assert resp.status_code == 400 and "quantiles" in resp.json()["path"]
    big = CSV + "".join(f"c,2020-01-01T{i % 24:02d}:{i // 24 % 60:02d}:00,1,1\n" for i in range(settings.max_body_bytes // 20))
    resp = client.post(QUERY, content=big, headers={"content-type": "text/csv"})
    assert resp.status_code == 413 and resp.json()["code"] == "payload_too_large"


def test_importing_the_app_does_not_import_pyarrow() -> None:
    code = "import sys, tollama.app, tollama.cli; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
