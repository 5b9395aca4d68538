"""Fixtures for gateway-level tests, run with the toto family environment's python.

    python families/toto/tests/fixtures_cli.py build MODEL OUT_DIR
    python families/toto/tests/fixtures_cli.py direct MODEL CKPT_DIR REQUEST_JSON OUT_JSON

``build`` writes a tiny random checkpoint (hub layout: config.json + model.safetensors, seed 0);
``direct`` answers REQUEST_JSON with the upstream library itself (see toto_direct.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import toto_checkpoints
import toto_direct


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a tiny random checkpoint for MODEL")
    build.add_argument("model", choices=sorted(toto_checkpoints.MODELS))
    build.add_argument("out_dir")
    direct = sub.add_parser("direct", help="forecast REQUEST_JSON with the upstream library directly")
    direct.add_argument("model", choices=sorted(toto_checkpoints.MODELS))
    direct.add_argument("ckpt_dir")
    direct.add_argument("request_json")
    direct.add_argument("out_json")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(toto_checkpoints.build(args.model, args.out_dir))
    else:
        request = json.loads(Path(args.request_json).read_text())
        Path(args.out_json).write_text(json.dumps(toto_direct.run(args.ckpt_dir, request)))


if __name__ == "__main__":
    main()
