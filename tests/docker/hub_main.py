"""Serve a folder of checkpoints over the Hugging Face protocol, from inside a container.

``python hub_main.py ROOT HOST PORT``: every ``ROOT/<org>/<name>/`` becomes repo ``org/name``
at revision ``main``; LFS redirects point at ``http://HOST:PORT``. The compose test runs it on
the compose network (service ``hub``), so every byte stays on this machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hubserver import HubServer, Repos, _Handler, _Server


def main() -> None:
    root, host, port = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    repos: Repos = {}
    for org in sorted(p for p in root.iterdir() if p.is_dir()):
        for repo in sorted(p for p in org.iterdir() if p.is_dir()):
            files = {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted(repo.rglob("*")) if p.is_file()}
            repos[f"{org.name}/{repo.name}"] = {"main": files}
    hub = HubServer(repos, cdn_host=host)

    class Handler(_Handler):
        server_hub = hub

    hub._server = _Server(("0.0.0.0", port), Handler)
    print(f"hub serving {sorted(repos)} on port {port}", flush=True)
    hub._server.serve_forever(0.2)


if __name__ == "__main__":
    main()
