"""Fixtures for gateway-level tests; run with the sundial environment's python.

    python families/sundial/tests/fixtures_cli.py build MODEL OUT_DIR [--size tiny|real] [--seed N]
        a seeded, randomly initialised checkpoint in the hub's file layout
    python families/sundial/tests/fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON
        the upstream library called directly for the request (see sundial_direct.py)

MODEL is a registry model name: sundial-base-128m.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import sundial_checkpoints
import sundial_direct


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fixtures_cli.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a random checkpoint")
    build.add_argument("model", choices=sorted(sundial_checkpoints.MODELS))
    build.add_argument("out_dir")
    build.add_argument("--size", choices=["tiny", "real"], default="tiny")
    build.add_argument("--seed", type=int, default=0)
    direct = sub.add_parser("direct", help="forecast with the upstream library directly")
    direct.add_argument("model", choices=sorted(sundial_checkpoints.MODELS))
    direct.add_argument("ckpt_dir")
    direct.add_argument("request_json")
    direct.add_argument("out_json")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(sundial_checkpoints.build(args.model, args.out_dir, size=args.size, seed=args.seed))
    else:
        request = json.loads(Path(args.request_json).read_text())
        result = sundial_direct.run(args.model, args.ckpt_dir, request)
        Path(args.out_json).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
