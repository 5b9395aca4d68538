"""Regenerate the docs that are derived from code: settings, error codes, OpenAPI.

``python scripts/gen_docs.py`` rewrites them; ``--check`` fails when they drifted (a test runs it).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def settings_md() -> str:
    from tollama.settings import Settings, describe

    rows = describe(Settings(home=Path("~/.tollama")))
    out = ["# Settings", "", "Read from the environment by `tollama serve` (and printed by `tollama settings`).", "",
           "| variable | default | meaning |", "| --- | --- | --- |"]
    for env, _value, raw_default, meaning in rows:
        default = "(the source checkout)" if env in {"TOLLAMA_FAMILIES_DIR", "TOLLAMA_REGISTRY"} else raw_default
        escaped = meaning.replace("|", "\\|")
        out.append(f"| `{env}` | `{default}` | {escaped} |")
    return "\n".join(out) + "\n"


def errors_md() -> str:
    from tollama import errors
    from tollama.worker_client import WORKER_CODES

    doc = (errors.__doc__ or "").strip()
    out = ["# Errors", "", "Every error body is `{\"error\": \"<message>\", \"code\": \"<code>\", ...details}`;",
           "validation errors add `path` (JSON path), `limit` and `value`. A stream (pull, create, forecast with",
           "`stream: true`) reports an error after its first line as one line of the same body with",
           "`\"status\": \"error\"`; the Python client (`tollama.client`) raises the class of the code in both cases.",
           "", "This table is every code the server sends (generated from `tollama/errors.py`; a test checks every",
           "response the test suite sees carries one of them).", "",
           "| code | HTTP status | class |", "| --- | --- | --- |"]
    out += [f"| `{code}` | {status} | `{errors.CLASSES[code].__name__}` |" for code, status in sorted(errors.STATUS.items(), key=lambda kv: (kv[1], kv[0]))]
    out += ["", "A worker's error code (worker protocol v1) becomes this gateway code:", "", "| worker code | gateway code |", "| --- | --- |"]
    out += [f"| `{worker}` | `{kind.code}` |" for worker, (kind, _template) in WORKER_CODES.items()]
    out += ["", "The exception tree (`tollama/errors.py`):", "", "```", doc.split("::", 1)[1].strip("\n") if "::" in doc else doc, "```"]
    return "\n".join(out) + "\n"


def schemas_json() -> str:
    """JSON Schema of every public request and response body (msgspec's own, exact)."""
    import msgspec
    from tollama import schema
    from tollama.evaluation import schema as evaluation

    kinds = [schema.ForecastRequest, schema.ForecastResponse, schema.ValidateResponse, schema.StreamEvent, schema.PullRequest,
             schema.ShowRequest, schema.ShowResponse, schema.CopyRequest, schema.NameRequest, schema.Tags, schema.Ps,
             evaluation.EvaluateRequest, evaluation.EvaluateResponse, evaluation.EvaluateEvent]
    (refs, components) = msgspec.json.schema_components(kinds, ref_template="#/components/schemas/{name}")
    return json.dumps({"bodies": dict(zip([k.__name__ for k in kinds], refs, strict=True)), "components": components}, indent=2, sort_keys=True) + "\n"


def openapi_json() -> str:
    from tollama.app import create_app
    from tollama.settings import Settings

    # The app is built, never started: no lifespan, so no runtime is opened (no Docker engine is touched).
    with tempfile.TemporaryDirectory() as home:
        spec = create_app(Settings(home=Path(home))).openapi_schema.to_schema()
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


TARGETS = {"docs/settings.md": settings_md, "docs/errors.md": errors_md, "docs/openapi.json": openapi_json, "docs/schemas.json": schemas_json}


def main() -> int:
    check = "--check" in sys.argv
    drift = []
    for rel, make in TARGETS.items():
        text = make()
        path = ROOT / rel
        if check:
            if not path.exists() or path.read_text() != text:
                drift.append(rel)
        else:
            path.write_text(text)
    if drift:
        print(f"generated docs are stale: {', '.join(drift)}; run `python scripts/gen_docs.py`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
