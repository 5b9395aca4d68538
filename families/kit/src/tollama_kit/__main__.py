"""Run a family worker: ``python -m tollama_kit --family chronos (--uds PATH | --port N)``.

The adapter is found by convention: ``tollama_<family>.adapter.create_adapter()``.
Prints one line ``tollama-worker listening <address>`` to stdout once it accepts requests.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from tollama_kit.adapter import Adapter


def load_adapter(family: str) -> Adapter:
    module = importlib.import_module(f"tollama_{family}.adapter")
    return module.create_adapter()  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tollama_kit", description=__doc__)
    parser.add_argument("--family", required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--uds", help="listen on this Unix socket path")
    where.add_argument("--port", type=int, help="listen on this TCP port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    # Workers never reach the network: weights come from the gateway's store only.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    import uvicorn

    from tollama_kit.server import create_worker_app

    app = create_worker_app(load_adapter(args.family))
    address = f"unix:{args.uds}" if args.uds else f"http://{args.host}:{args.port}"

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
            await super().startup(sockets)
            shown = address
            if not args.uds and self.servers and self.servers[0].sockets:  # --port 0: report the port the OS gave
                shown = f"http://{args.host}:{self.servers[0].sockets[0].getsockname()[1]}"
            print(f"tollama-worker listening {shown}", flush=True)

    config = uvicorn.Config(
        app,
        uds=args.uds,
        host=args.host,
        port=args.port or 0,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    _Server(config).run()
    sys.exit(0)


if __name__ == "__main__":
    main()
