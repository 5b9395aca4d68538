"""CORS: which browser origins may read the gateway's answers (``TOLLAMA_ORIGINS``).

Like Ollama's ``OLLAMA_ORIGINS``: loopback origins (``http(s)://localhost``, ``127.0.0.1``,
``[::1]``, any port) are always allowed; ``TOLLAMA_ORIGINS`` adds comma-separated origins,
where ``*`` is a wildcard in any part (``https://*.example.com``) and ``*`` alone allows every
origin. A preflight from any other origin is refused without ``Access-Control-Allow-Origin``,
and a simple request from one gets its answer without it, so the browser hides the answer.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig

LOOPBACK_ORIGINS = r"(https?|app|tauri)://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


def parse_origins(raw: str) -> list[str]:
    origins = [part.strip().rstrip("/") for part in raw.split(",") if part.strip()]
    for origin in origins:
        if origin != "*" and "://" not in origin:
            raise ValueError(f"TOLLAMA_ORIGINS entry {origin!r} is not an origin such as https://app.example.com")
    return origins


def cors_config(origins: str) -> CORSConfig:
    return CORSConfig(
        allow_origins=parse_origins(origins),
        allow_origin_regex=LOOPBACK_ORIGINS,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["authorization", "content-type", "x-request-id"],
        expose_headers=["x-request-id", "retry-after"],
    )
