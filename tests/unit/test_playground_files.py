"""The playground's shipped files: the vendored chart library is the pinned npm release, unchanged."""

from __future__ import annotations

import hashlib
import re

from litestar.testing import TestClient
from tollama.api import ui


def test_vendored_uplot_matches_its_recorded_digests() -> None:
    vendor = ui.UI_DIR / "vendor" / "uplot"
    recorded = dict(re.findall(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", (vendor / "VENDORED.md").read_text(), flags=re.M))
    assert set(recorded) == {"uPlot.iife.min.js", "uPlot.min.css", "LICENSE"}
    for name, digest in recorded.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    assert "MIT" in (vendor / "LICENSE").read_text()


def test_pages_reference_only_the_gateway() -> None:
    for name in ("index.html", "app.js", "app.css"):
        text = (ui.UI_DIR / name).read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), name
        assert "http://" not in text and "https://" not in text, name


def test_static_routes_serve_only_shipped_files_with_a_csp() -> None:
    from litestar import Litestar

    with TestClient(Litestar(route_handlers=ui.ROUTES)) as client:
        page = client.get("/ui")
        assert page.status_code == 200 and page.headers["content-security-policy"] == ui.CSP
        js = client.get("/ui/static/app.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert client.get("/ui/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
        assert client.get("/ui/static/../api/ui.py").status_code == 404
        assert client.get("/ui/static/index.html").status_code == 404
