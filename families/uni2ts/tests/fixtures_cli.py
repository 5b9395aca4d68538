"""Fixtures for gateway-level tests, run with the uni2ts environment's python.

    python fixtures_cli.py build MODEL OUT_DIR
        a tiny, seeded, randomly initialised checkpoint for registry model MODEL,
        in the hub's file layout (config.json, model.safetensors)
    python fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON
        the request forecast by uni2ts itself (its GluonTS predictor), not by the adapter

REQUEST_JSON: {"horizon": H, "quantiles": [...], "series": [{"id", "target": [[...]] (n_targets x T),
"past_covariates": {name: [...]}, "future_covariates": {name: [...]}}], "options": {...}}
(null marks a missing value). OUT_JSON: {"series": [{"id", "mean": [[...]] (n_targets x H),
"quantiles": [[[...]]] (n_levels x n_targets x H)}]}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checkpoints
import direct


def _canonical(name: str) -> str:
    """Registry names are lower case (moirai-1.1-r-small); the hub spells them moirai-1.1-R-small."""
    return {m.lower(): m for m in checkpoints.MODELS}.get(name.lower(), name)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a tiny random checkpoint")
    build.add_argument("model", choices=checkpoints.MODELS, type=_canonical)
    build.add_argument("out_dir")
    call = sub.add_parser("direct", help="forecast a request with uni2ts directly")
    call.add_argument("model", choices=checkpoints.MODELS, type=_canonical)
    call.add_argument("ckpt_dir")
    call.add_argument("request_json")
    call.add_argument("out_json")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(checkpoints.build(args.model, args.out_dir))
        return
    request = json.loads(Path(args.request_json).read_text())
    response = direct.forecast(args.model, args.ckpt_dir, request)
    Path(args.out_json).write_text(json.dumps(response))


if __name__ == "__main__":
    main()
