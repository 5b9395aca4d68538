"""Server settings: one table of name, default and meaning, read from ``TOLLAMA_*``.

``Settings.from_env()`` is called once, by the CLI; everything else receives a
``Settings`` object (modules never read ``os.environ`` themselves). ``tollama settings``
prints :func:`describe`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

_SOURCE_ROOT = Path(__file__).resolve().parents[3]


def _default_home() -> Path:
    return Path.home() / ".tollama"


@dataclass(frozen=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata={"env": "TOLLAMA_HOST", "help": "address the server binds"})
    port: int = field(default=11435, metadata={"env": "TOLLAMA_PORT", "help": "port the server binds"})
    home: Path = field(
        default_factory=_default_home,
        metadata={"env": "TOLLAMA_HOME", "help": "state directory: model store, runtimes, worker sockets"},
    )
    keep_alive: str = field(
        default="5m",
        metadata={"env": "TOLLAMA_KEEP_ALIVE", "help": "how long an idle model stays loaded (seconds, 5m, 0, -1)"},
    )
    max_loaded_models: int = field(
        default=3, metadata={"env": "TOLLAMA_MAX_LOADED_MODELS", "help": "models kept loaded at once (0 = no limit)"}
    )
    max_queue: int = field(
        default=512, metadata={"env": "TOLLAMA_MAX_QUEUE", "help": "forecast requests waiting at once before 503"}
    )
    memory_budget: int = field(
        default=0,
        metadata={"env": "TOLLAMA_MEMORY_BUDGET", "help": "bytes of model memory before idle models are evicted (0 = no limit)"},
    )
    max_body_bytes: int = field(
        default=64 * 1024 * 1024, metadata={"env": "TOLLAMA_MAX_BODY_BYTES", "help": "largest request body accepted"}
    )
    max_series: int = field(default=10_000, metadata={"env": "TOLLAMA_MAX_SERIES", "help": "series per forecast request"})
    runtime: str = field(
        default="auto",
        metadata={"env": "TOLLAMA_RUNTIME", "help": "auto | docker | process | static: how family workers run"},
    )
    static_workers: str = field(
        default="",
        metadata={"env": "TOLLAMA_STATIC_WORKERS", "help": "static runtime: family=url pairs, comma separated"},
    )
    device: str = field(default="auto", metadata={"env": "TOLLAMA_DEVICE", "help": "auto | cpu | cuda | cuda:N | mps"})
    gpus: str = field(
        default="", metadata={"env": "TOLLAMA_GPUS", "help": "docker runtime: GPUs for CUDA images ('all', '0,1'; empty = none)"}
    )
    image_prefix: str = field(
        default="tollama", metadata={"env": "TOLLAMA_IMAGE_PREFIX", "help": "docker runtime: images are <prefix>/<family>:<variant>"}
    )
    variant: str = field(default="cpu", metadata={"env": "TOLLAMA_VARIANT", "help": "cpu | cuda: family image/env variant"})
    docker_network: str = field(
        default="", metadata={"env": "TOLLAMA_DOCKER_NETWORK", "help": "docker runtime: network shared with the gateway (in compose)"}
    )
    store_volume: str = field(
        default="",
        metadata={"env": "TOLLAMA_STORE_VOLUME", "help": "docker runtime: volume or host path holding the store (mounted read-only)"},
    )
    docker_instance: str = field(
        default="default",
        metadata={"env": "TOLLAMA_DOCKER_INSTANCE", "help": "docker runtime: label value scoping this gateway's containers (one per gateway on an engine)"},
    )
    worker_threads: int = field(
        default=0,
        metadata={"env": "TOLLAMA_WORKER_THREADS", "help": "CPU threads per worker (OMP_NUM_THREADS; 0 = the library's default)"},
    )
    worker_start_timeout: float = field(
        default=120.0, metadata={"env": "TOLLAMA_WORKER_START_TIMEOUT", "help": "seconds to wait for a worker's /v1/health"}
    )
    request_timeout: float = field(
        default=600.0, metadata={"env": "TOLLAMA_REQUEST_TIMEOUT", "help": "seconds a forecast may take in a worker"}
    )
    hf_endpoint: str = field(
        default="https://huggingface.co", metadata={"env": "HF_ENDPOINT", "help": "model hub endpoint used by pull"}
    )
    hf_token: str = field(default="", metadata={"env": "HF_TOKEN", "help": "hub token for gated or private repos"})
    pull_concurrency: int = field(default=4, metadata={"env": "TOLLAMA_PULL_CONCURRENCY", "help": "files downloaded at once"})
    torch_index_url: str = field(
        default="", metadata={"env": "TOLLAMA_TORCH_INDEX_URL", "help": "package index for the CPU torch build of family envs"}
    )
    runtimes: Path | None = field(
        default=None, metadata={"env": "TOLLAMA_RUNTIMES", "help": "family environments (default $TOLLAMA_HOME/runtimes)"}
    )
    families_dir: Path = field(
        default=_SOURCE_ROOT / "families", metadata={"env": "TOLLAMA_FAMILIES_DIR", "help": "family sources (adapters, locks)"}
    )
    registry_file: Path = field(
        default=_SOURCE_ROOT / "registry.yaml", metadata={"env": "TOLLAMA_REGISTRY", "help": "the catalogue of pullable models"}
    )
    log_level: str = field(default="info", metadata={"env": "TOLLAMA_LOG_LEVEL", "help": "debug | info | warning | error"})

    @property
    def store_dir(self) -> Path:
        return self.home / "models"

    @property
    def runtimes_dir(self) -> Path:
        return self.runtimes if self.runtimes is not None else self.home / "runtimes"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.type, raw, f.metadata["env"])
        return replace(cls(**values), **overrides)


def _convert(kind: Any, raw: str, name: str) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind in ("Path", "Path | None"):
            return Path(raw).expanduser()
    except ValueError as exc:
        raise ValueError(f"setting {name}={raw!r} is not a valid {kind}") from exc
    return raw


def describe(settings: Settings) -> list[tuple[str, str, str, str]]:
    """Rows of (environment variable, current value, default, meaning) for every setting."""
    default = Settings()
    rows = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        shown = "***" if f.name == "hf_token" and value else str(value)
        default_shown = "~/.tollama" if f.name == "home" else str(getattr(default, f.name))
        rows.append((f.metadata["env"], shown, default_shown, f.metadata["help"]))
    return rows
