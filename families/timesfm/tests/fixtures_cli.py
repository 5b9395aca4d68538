"""Fixtures for gateway-level tests, run with the family environment's python.

    python families/timesfm/tests/fixtures_cli.py build MODEL OUT_DIR
        a tiny, seeded, randomly initialised checkpoint in the hub's file layout
        (add --size real for the 925 MB upstream layout)
    python families/timesfm/tests/fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON
        the upstream library called directly for the request (see tests/direct.py)

A worker that must LOAD a tiny checkpoint needs ``TOLLAMA_TIMESFM_TINY=1`` in its
environment (see tollama_timesfm.testing_patch); ``direct`` detects tiny checkpoints itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make `tests` importable as a package next to this file.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "tests"

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests import checkpoints, direct


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fixtures_cli.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a random checkpoint")
    build.add_argument("model", choices=checkpoints.MODELS)
    build.add_argument("out_dir")
    build.add_argument("--size", choices=["tiny", "real"], default="tiny")
    build.add_argument("--seed", type=int, default=0)
    run = sub.add_parser("direct", help="forecast with the upstream library directly")
    run.add_argument("model", choices=checkpoints.MODELS)
    run.add_argument("ckpt_dir")
    run.add_argument("request_json")
    run.add_argument("out_json")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(checkpoints.build(args.model, args.out_dir, size=args.size, seed=args.seed))
    else:
        request = json.loads(Path(args.request_json).read_text())
        result = direct.run(args.model, args.ckpt_dir, request)
        Path(args.out_json).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
