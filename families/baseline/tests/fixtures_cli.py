"""Fixtures for gateway-level tests, run with the baseline family's python.

python families/baseline/tests/fixtures_cli.py build MODEL OUT_DIR
python families/baseline/tests/fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkpoints import MODELS, build_checkpoint
from direct import direct_forecast


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="fixtures_cli.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a snapshot directory (config.json) for MODEL")
    build.add_argument("model", choices=MODELS)
    build.add_argument("out_dir")
    direct = sub.add_parser("direct", help="forecast REQUEST_JSON with statsforecast directly")
    direct.add_argument("model", choices=MODELS)
    direct.add_argument("ckpt_dir")
    direct.add_argument("request_json")
    direct.add_argument("out_json")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(build_checkpoint(args.model, args.out_dir))
    else:
        request = json.loads(Path(args.request_json).read_text())
        result = direct_forecast(args.model, args.ckpt_dir, request)
        Path(args.out_json).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
