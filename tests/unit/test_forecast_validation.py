"""Every validation rule: the bad input, its 4xx, its stable code and a message naming the field.

Validation happens before any worker starts: each case also asserts nothing was started.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakes import InProcessRuntime
from litestar.testing import TestClient

OK_SERIES = {"id": "a", "target": [1.0, 2.0, 3.0, 4.0, 5.0]}


def base(**kw: Any) -> dict[str, Any]:
    body = {"model": "chronos-bolt-tiny", "horizon": 4, "series": [OK_SERIES]}
    body.update(kw)
    return body


CASES: list[tuple[str, Any, int, str, str]] = [
    # (case, body (dict or raw bytes), status, code, text the message must contain)
    ("nan literal", b'{"model":"chronos-bolt-tiny","horizon":2,"series":[[1,NaN]]}', 400, "invalid_request", "NaN"),
    ("infinite number", b'{"model":"chronos-bolt-tiny","horizon":2,"series":[[1,1e999]]}', 400, "invalid_value", "$.series[0][1]"),
    ("unknown field", base(horizn=3), 400, "invalid_value", "horizn"),
    ("unknown series field", base(series=[{"id": "a", "target": [1, 2], "colour": 1}]), 400, "invalid_value", "colour"),
    ("unknown option", base(options={"temperature": 1}), 400, "invalid_value", "temperature"),
    ("empty body", b"", 400, "invalid_request", "empty"),
    ("not json", b"{model", 400, "invalid_request", "not valid JSON"),
    ("horizon zero", base(horizon=0), 400, "invalid_value", "$.horizon"),
    ("horizon past limit", base(horizon=513), 400, "invalid_value", "maximum of 512"),
    ("missing horizon", {"model": "chronos-bolt-tiny", "series": [OK_SERIES]}, 400, "invalid_value", "horizon is required"),
    ("quantile out of range", base(quantiles=[0.1, 1.0]), 400, "invalid_value", "$.quantiles[1]"),
    ("quantiles unsorted", base(quantiles=[0.9, 0.1]), 400, "invalid_value", "sorted"),
    ("quantiles duplicated", base(quantiles=[0.5, 0.5]), 400, "invalid_value", "unique"),
    ("no series", base(series=[]), 400, "invalid_value", "at least one series"),
    ("empty target", base(series=[{"id": "a", "target": []}]), 400, "invalid_value", "target is empty"),
    ("all null", base(series=[{"id": "a", "target": [None, None]}]), 400, "invalid_value", "every value is null"),
    ("duplicate ids", base(series=[OK_SERIES, OK_SERIES]), 400, "invalid_value", "duplicate series id 'a'"),
    ("empty id", base(series=[OK_SERIES, {"id": "", "target": [1, 2, 3]}]), 400, "invalid_value", "$.series[1].id: series id is empty"),
    ("string in target", base(series=[{"id": "a", "target": [1, "x"]}]), 400, "invalid_value", "$.series[0].target[1]"),
    ("ragged variates", {"model": "chronos-2", "horizon": 2, "series": [{"id": "a", "target": [[1, 2, 3], [1, 2]]}]}, 400, "invalid_value", "same length"),
    ("bad timestamp", base(series=[{"id": "a", "target": [1, 2, 3], "timestamps": ["2024-01-01", "soon", "2024-01-03"]}]), 400, "invalid_value", "timestamps[1]"),
    ("unsorted timestamps", base(series=[{"id": "a", "target": [1, 2, 3], "timestamps": ["2024-01-01", "2024-01-03", "2024-01-02"]}]), 400, "invalid_value", "strictly increasing"),
    ("duplicate timestamps", base(series=[{"id": "a", "target": [1, 2, 3], "timestamps": ["2024-01-01", "2024-01-01", "2024-01-02"]}]), 400, "invalid_value", "strictly increasing"),
    ("timestamp count", base(series=[{"id": "a", "target": [1, 2, 3], "timestamps": ["2024-01-01"]}]), 400, "invalid_value", "one timestamp per target value"),
    ("unknown freq", base(freq="fortnightly", series=[{"id": "a", "target": [1, 2, 3], "start": "2024-01-01"}]), 400, "invalid_value", "fortnightly"),
    ("start without freq", base(series=[{"id": "a", "target": [1, 2, 3], "start": "2024-01-01"}]), 400, "invalid_value", "explicit freq"),
    ("auto without timestamps", base(freq="auto"), 400, "invalid_value", "needs timestamps"),
    ("auto on irregular", base(freq="auto", series=[{"id": "a", "target": [1, 2, 3], "timestamps": ["2024-01-01", "2024-01-02", "2024-01-09"]}]), 400, "invalid_value", "not regularly spaced"),
    ("past covariate length", {"model": "chronos-2", "horizon": 2, "series": [{"id": "a", "target": [1, 2, 3], "past_covariates": {"x": [1, 2]}}]}, 400, "invalid_value", "past_covariates.x"),
    ("future covariate length", {"model": "chronos-2", "horizon": 2, "series": [{"id": "a", "target": [1, 2, 3], "future_covariates": {"x": [1, 2, 3]}}]}, 400, "invalid_value", "expected 5 values, got 3"),
    ("mixed covariate", {"model": "chronos-2", "horizon": 1, "series": [{"id": "a", "target": [1, 2], "past_covariates": {"x": [1, "b"]}}]}, 400, "invalid_value", "not a mix"),
    ("null covariate", {"model": "chronos-2", "horizon": 1, "series": [{"id": "a", "target": [1, 2], "past_covariates": {"x": [1, None]}}]}, 400, "invalid_value", "must not be null"),
    ("covariate in both forms, wrong lengths", {"model": "chronos-2", "horizon": 1, "series": [{"id": "a", "target": [1, 2], "past_covariates": {"x": [1, 2]}, "future_covariates": {"x": [1, 2, 3]}}]}, 400, "invalid_value",
     "'x' is given in both past_covariates (2 values) and future_covariates (3 values); give 2 past and 1 future values, or only future_covariates with 3"),
    ("strict covariates", base(options={"covariates_mode": "strict"}, series=[{"id": "a", "target": [1, 2, 3], "past_covariates": {"x": [1, 2, 3]}}]), 422, "unsupported", "past covariates"),
    ("strict multivariate", base(options={"covariates_mode": "strict"}, series=[{"id": "a", "target": [[1, 2], [3, 4]]}]), 422, "unsupported", "univariate"),
    ("bad covariates_mode", base(options={"covariates_mode": "lenient"}), 400, "invalid_value", "covariates_mode"),
    ("bad keep_alive", base(keep_alive="soon"), 400, "invalid_value", "keep_alive"),
    ("banana keep_alive", base(keep_alive="banana"), 400, "invalid_value", "cannot read keep_alive 'banana'"),
    ("boolean keep_alive", base(keep_alive=True), 400, "invalid_value", "keep_alive"),
    ("hostile model name", base(model="../../etc/passwd"), 400, "invalid_model_name", "../../etc/passwd"),
    ("absolute model name", base(model="/abs"), 400, "invalid_model_name", "/abs"),
    ("empty model name", base(model=""), 400, "invalid_model_name", "''"),
    ("unknown model", base(model="chronos-bolt-smal"), 404, "model_not_found", "chronos-bolt-small"),
    ("family not installed", {"model": "granite-ttm-r2", "horizon": 4, "series": [OK_SERIES]}, 409, "runtime_not_installed", "granite"),
    ("too many series", base(series=[[1.0, 2.0]] * 10_001), 400, "invalid_value", "limit of 10000"),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Any], InProcessRuntime]]:
    """One app for the whole table: validation never starts a worker, so cases cannot interfere."""
    from conftest import install_fake
    from tollama.app import create_app
    from tollama.settings import Settings

    runtime = InProcessRuntime()
    app = create_app(Settings(home=tmp_path_factory.mktemp("home")), runtime=runtime)
    for name, family in (("chronos-bolt-tiny", "chronos"), ("chronos-2", "chronos"), ("granite-ttm-r2", "granite")):
        install_fake(app.state["services"].store, name, family)
    with TestClient(app) as c:
        yield c, runtime


@pytest.mark.parametrize("path", ["/api/forecast", "/api/validate"])
@pytest.mark.parametrize(("case", "body", "status", "code", "needle"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_4xx(
    shared: tuple[TestClient[Any], InProcessRuntime], path: str, case: str, body: Any, status: int, code: str, needle: str
) -> None:
    """Validation is the one door: the dry run refuses exactly what the forecast refuses."""
    client, runtime = shared
    if isinstance(body, bytes):
        resp = client.post(path, content=body, headers={"content-type": "application/json"})
    else:
        resp = client.post(path, json=body)
    assert resp.status_code == status, resp.text
    payload = resp.json()
    assert payload["code"] == code
    assert needle in payload["error"], payload["error"]
    assert runtime.started == [], "validation must refuse before any worker starts"


def test_validation_errors_carry_path_limit_and_value(client: TestClient[Any]) -> None:
    body = client.post("/api/forecast", json=base(horizon=600)).json()
    assert body == {**body, "path": "$.horizon", "limit": 512, "value": 600}


def test_an_empty_series_id_names_its_path(client: TestClient[Any]) -> None:
    body = client.post("/api/forecast", json=base(series=[{"id": "", "target": [1, 2, 3]}])).json()
    assert body["code"] == "invalid_value"
    assert (body["path"], body["value"]) == ("$.series[0].id", "")


def test_oversized_body_is_413(settings: Any, runtime: InProcessRuntime) -> None:
    from dataclasses import replace

    from tollama.app import create_app

    app = create_app(replace(settings, max_body_bytes=1000), runtime=runtime)
    with TestClient(app) as c:
        resp = c.post("/api/forecast", json=base(series=[[1.0] * 500]))
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"


def test_validate_endpoint_is_a_dry_run(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    resp = client.post("/api/validate", json=base(series=[{"id": "a", "target": [1, 2, 3], "past_covariates": {"x": [1, 2, 3]}}]))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["valid"] and body["horizon"] == 4 and body["series"] == 1
    assert any("dropped" in w for w in body["warnings"])
    assert runtime.started == []
    assert client.post("/api/validate", json=base(horizon=0)).status_code == 400


def test_missing_values_for_a_model_that_cannot_take_them() -> None:
    """No shipped family refuses gaps today (each fills them); the rule stays for one that would."""
    import msgspec
    from tollama.errors import UnsupportedFeature
    from tollama.registry import Capabilities
    from tollama.schema import ForecastRequest
    from tollama.validation import validate

    caps = Capabilities(max_context=100, max_horizon=10, missing_values=False)
    body = {"model": "m", "horizon": 2, "series": [{"id": "a", "target": [1, None, 3, None]}]}
    strict = msgspec.convert({**body, "options": {"covariates_mode": "strict"}}, ForecastRequest)
    with pytest.raises(UnsupportedFeature, match="2 missing values"):
        validate(strict, "m", caps, {}, max_series=10)
    lenient = validate(msgspec.convert(body, ForecastRequest), "m", caps, {}, max_series=10)
    from array import array

    filled = array("f")
    filled.frombytes(lenient.batch.series[0].target)
    assert filled.tolist() == [1.0, 2.0, 3.0, 3.0]
    assert any("linear interpolation" in w for w in lenient.warnings)


def test_keep_alive_is_parsed_during_validation_by_precedence() -> None:
    """request > TSModelfile > server; the validated forecast carries seconds (None = forever)."""
    import msgspec
    from tollama.registry import Capabilities
    from tollama.schema import ForecastRequest
    from tollama.validation import SERVER_KEEP_ALIVE, validate

    caps = Capabilities(max_context=100, max_horizon=10)

    def checked(params: dict[str, Any], server: float | None = 42.0, **fields: Any) -> float | None:
        req = msgspec.convert({"model": "m", "horizon": 2, "series": [[1, 2, 3]], **fields}, ForecastRequest)
        return validate(req, "m", caps, params, max_series=10, server_keep_alive=server).keep_alive

    assert checked({}) == 42.0
    assert checked({}, None) is None
    assert checked({"keep_alive": "10m"}) == 600.0
    assert checked({"keep_alive": "10m"}, keep_alive="1h30m") == 5400.0
    assert checked({"keep_alive": 0}, keep_alive=-1) is None
    assert SERVER_KEEP_ALIVE == 300.0, "the one default (tollama.keepalive.DEFAULT) is five minutes"
def test_a_covariate_in_both_forms_is_one_known_future_covariate() -> None:
    """Past (T values) + future (H values) under one name is the same batch as future_covariates with T + H."""
    from tollama.registry import Capabilities
    from tollama.schema import ForecastRequest, SeriesIn
    from tollama.validation import validate

    caps = Capabilities(max_context=512, max_horizon=64, past_covariates=True, future_covariates=True, categorical_covariates=True)

    def batch(series: SeriesIn) -> Any:
        req = ForecastRequest(model="m", horizon=2, series=[series])
        return validate(req, "m", caps, {}, max_series=10).batch.series[0]

    split = batch(SeriesIn(id="a", target=[1, 2, 3], past_covariates={"x": [1, 2, 3], "c": ["u", "v", "u"], "p": [5, 6, 7]},
                           future_covariates={"x": [4, 5], "c": ["v", "v"]}))
    joined = batch(SeriesIn(id="a", target=[1, 2, 3], past_covariates={"p": [5, 6, 7]}, future_covariates={"x": [1, 2, 3, 4, 5], "c": ["u", "v", "u", "v", "v"]}))
    assert split.future_covariates == joined.future_covariates and set(split.future_covariates) == {"x", "c"}
    assert split.past_covariates == joined.past_covariates and set(split.past_covariates) == {"p"}


@pytest.mark.parametrize("mode", ["best_effort", "strict"])
def test_covariate_policy_is_applied_here_and_never_sent_to_a_worker(mode: str) -> None:
    """The gateway alone applies covariates_mode: best_effort drops what the capabilities exclude (with a
    warning naming it), strict refuses it, and the worker's batch carries neither the unusable inputs nor the mode."""
    from tollama.errors import UnsupportedFeature
    from tollama.registry import Capabilities
    from tollama.schema import ForecastRequest, Options, SeriesIn
    from tollama.validation import validate

    caps = Capabilities(max_context=512, max_horizon=64, future_covariates=True)  # numeric known-future covariates only
    series = SeriesIn(id="a", target=[1, 2, 3], past_covariates={"p": [5, 6, 7]}, future_covariates={"f": [1, 2, 3, 4, 5], "c": ["u"] * 5},
                      static_covariates={"site": "x"})
    req = ForecastRequest(model="m", horizon=2, series=[series], options=Options(covariates_mode=mode))  # type: ignore[arg-type]
    if mode == "strict":
        with pytest.raises(UnsupportedFeature, match="past covariates"):
            validate(req, "m", caps, {}, max_series=10)
        return
    checked = validate(req, "m", caps, {}, max_series=10)
    sent = checked.batch.series[0]
    assert (set(sent.past_covariates), set(sent.future_covariates), sent.static_covariates) == (set(), {"f"}, {})
    assert "covariates_mode" not in checked.batch.options
    for name in ("p", "c", "static covariates"):
        assert any(name in w for w in checked.warnings), (name, checked.warnings)
