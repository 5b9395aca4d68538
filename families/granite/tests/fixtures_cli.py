"""Fixtures for gateway-level tests, run with the granite environment's python.

python fixtures_cli.py build MODEL OUT_DIR
python fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkpoints import build
from direct import direct_forecast


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="fixtures_cli.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write a tiny random checkpoint for a registry model")
    b.add_argument("model")
    b.add_argument("out_dir")
    d = sub.add_parser("direct", help="forecast a JSON request with granite-tsfm directly")
    d.add_argument("model")
    d.add_argument("ckpt_dir")
    d.add_argument("request_json")
    d.add_argument("out_json")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(build(args.model, args.out_dir))
    else:
        request = json.loads(Path(args.request_json).read_text())
        result = direct_forecast(args.model, args.ckpt_dir, request)
        Path(args.out_json).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
