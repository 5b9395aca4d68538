"""KServe's time-series protocol against a tollama server, checked with KServe's own pydantic types.

    python tests/interop/kserve_calls.py BASE_URL REQUEST.json OUT.json

Runs in the interop venv, where kserve 0.21 is installed without its dependencies: only its
``kserve/protocol/rest/timeseries/types.py`` is loaded (by path, so the package's heavy ``__init__``
does not run). The request is validated with ``ForecastRequest`` before it is sent; the answer with
``ForecastResponse``, an error answer with ``ErrorResponse``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import httpx


def kserve_types() -> object:
    spec = importlib.util.find_spec("kserve")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "protocol" / "rest" / "timeseries" / "types.py"
    module_spec = importlib.util.spec_from_file_location("kserve_timeseries_types", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["kserve_timeseries_types"] = module
    module_spec.loader.exec_module(module)
    return module


def main(base_url: str, request_file: str, out: str) -> None:
    types = kserve_types()
    request = types.ForecastRequest.model_validate_json(Path(request_file).read_text())  # type: ignore[attr-defined]
    body = request.model_dump(mode="json", exclude_none=True)
    with httpx.Client(base_url=base_url, timeout=300) as http:
        ok = http.post("/v1/timeseries/forecast", json=body)
        assert ok.status_code == 200, ok.text
        parsed = types.ForecastResponse.model_validate(ok.json())  # type: ignore[attr-defined]
        bad = http.post("/v1/timeseries/forecast", json={**body, "model": "no-such-model"})
        error = types.ErrorResponse.model_validate(bad.json())  # type: ignore[attr-defined]
        models = http.get("/v1/timeseries/models").json()
    result = {"response": parsed.model_dump(mode="json"), "error_status": bad.status_code, "error": error.model_dump(mode="json"), "models": models}
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:4])
