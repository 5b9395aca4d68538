"""Fixtures for gateway-level tests; run with the chronos family environment's python.

python families/chronos/tests/fixtures_cli.py build MODEL OUT_DIR
    write a tiny, seeded, randomly initialised checkpoint for registry model MODEL
    (chronos-t5-*, chronos-bolt-*, chronos-2) in the hub's file layout
python families/chronos/tests/fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON
    forecast REQUEST_JSON with chronos-forecasting called directly; write OUT_JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import checkpoints
import direct


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fixtures_cli.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a tiny random checkpoint")
    build.add_argument("model", choices=checkpoints.MODELS)
    build.add_argument("out_dir")
    build.add_argument("--seed", type=int, default=0)
    run = sub.add_parser("direct", help="forecast with the library called directly")
    run.add_argument("model", choices=checkpoints.MODELS)
    run.add_argument("ckpt_dir")
    run.add_argument("request_json")
    run.add_argument("out_json")
    args = parser.parse_args(argv)

    if args.command == "build":
        path = checkpoints.build(args.model, args.out_dir, seed=args.seed)
        print(path)
    else:
        request = json.loads(Path(args.request_json).read_text())
        result = direct.run(args.model, args.ckpt_dir, request)
        Path(args.out_json).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
