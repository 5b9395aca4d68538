"""Server settings: one table of name, default and meaning, read from ``TOLLAMA_*``.

``Settings.from_env()`` is called once, by the CLI; everything else receives a
``Settings`` object (modules never read ``os.environ`` themselves). ``tollama settings``
prints :func:`describe`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from tollama import keepalive

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
        default=keepalive.DEFAULT,
        metadata={"env": "TOLLAMA_KEEP_ALIVE", "help": "how long an idle model stays loaded (seconds, 5m, 0, -1)"},
    )
    max_loaded_models: int = field(
        default=3, metadata={"env": "TOLLAMA_MAX_LOADED_MODELS", "help": "models kept loaded at once (0 = no limit)"}
    )
    max_queue: int = field(
        default=512, metadata={"env": "TOLLAMA_MAX_QUEUE", "help": "forecast requests waiting at once before 503"}
    )
    memory_budget: str = field(
        default="auto",
        metadata={
            "env": "TOLLAMA_MEMORY_BUDGET",
            "help": "RAM loaded models may take (measured) before idle ones are evicted or a load is refused (507): auto = 80% of the RAM available at start, 0 = no limit, or a size (8GiB)",
        },
    )
    vram_budget: str = field(
        default="auto",
        metadata={"env": "TOLLAMA_VRAM_BUDGET", "help": "the same for models on CUDA devices: auto = 90% of the free memory (nvidia-smi, at start) of the GPUs the workers are given, for the CUDA variant (no limit without nvidia-smi or on CPU), 0 = no limit, or a size; a worker's CUDA OOM is 507 out_of_memory"},
    )
    max_body_bytes: int = field(
        default=64 * 1024 * 1024, metadata={"env": "TOLLAMA_MAX_BODY_BYTES", "help": "largest request body accepted"}
    )
    max_series: int = field(default=10_000, metadata={"env": "TOLLAMA_MAX_SERIES", "help": "series per forecast request"})
    cache_bytes: str = field(
        default="64MiB",
        metadata={
            "env": "TOLLAMA_CACHE_BYTES",
            "help": "memory the result cache may hold (an LRU of worker answers: a repeated forecast of a deterministic or seeded model is answered without a worker call); 0 = off, or a size (64MiB, 1000000)",
        },
    )
    runtime: str = field(
        default="auto",
        metadata={"env": "TOLLAMA_RUNTIME", "help": "auto | docker | process | static: how family workers run"},
    )
    static_workers: str = field(
        default="",
        metadata={"env": "TOLLAMA_STATIC_WORKERS", "help": "static runtime: family=url pairs, comma separated; a family may repeat (replicas) and a host name may resolve to several addresses (a headless Service)"},
    )
    static_health_interval: float = field(
        default=2.0,
        metadata={"env": "TOLLAMA_STATIC_HEALTH_INTERVAL", "help": "static runtime: seconds between health checks of each replica"},
    )
    static_resolve_interval: float = field(
        default=10.0,
        metadata={"env": "TOLLAMA_STATIC_RESOLVE_INTERVAL", "help": "static runtime: seconds between look-ups of the worker host names"},
    )
    device: str = field(default="auto", metadata={"env": "TOLLAMA_DEVICE", "help": "auto | cpu | cuda | cuda:N | mps"})
    gpus: str = field(
        default="", metadata={"env": "TOLLAMA_GPUS", "help": "GPUs for CUDA workers ('all', '0,1', GPU UUIDs; empty = none)"}
    )
    family_gpus: str = field(
        default="",
        metadata={
            "env": "TOLLAMA_FAMILY_GPUS",
            "help": "GPUs per family, overriding TOLLAMA_GPUS ('timesfm=1;chronos=0,2;uni2ts=all'; 'f=' = none)",
        },
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
    families_dirs: str = field(
        default="",
        metadata={
            "env": "TOLLAMA_FAMILIES_DIRS",
            "help": "more folders of family sources, searched after TOLLAMA_FAMILIES_DIR (comma separated; a family name in two folders is an error)",
        },
    )
    registry_file: Path = field(
        default=_SOURCE_ROOT / "registry.yaml", metadata={"env": "TOLLAMA_REGISTRY", "help": "the catalogue of pullable models"}
    )
    log_level: str = field(default="info", metadata={"env": "TOLLAMA_LOG_LEVEL", "help": "debug | info | warning | error"})
    log_format: str = field(default="text", metadata={"env": "TOLLAMA_LOG_FORMAT", "help": "text | json (one JSON object a line, with the request id)"})
    api_keys: str = field(
        default="",
        metadata={
            "env": "TOLLAMA_API_KEYS",
            "help": "comma-separated scope:key pairs (scopes admin | forecast); when set, every route but /, /healthz, /readyz and /api/version needs Authorization: Bearer <key>",
        },
    )
    api_keys_file: Path | None = field(
        default=None, metadata={"env": "TOLLAMA_API_KEYS_FILE", "help": "a file of scope:key pairs, one a line (# comments), added to TOLLAMA_API_KEYS"}
    )
    api_key: str = field(default="", metadata={"env": "TOLLAMA_API_KEY", "help": "the key the CLI and the Python client send (Authorization: Bearer)"})
    import_dirs: str = field(
        default="",
        metadata={
            "env": "TOLLAMA_IMPORT_DIRS",
            "help": "server directories `FROM <path>` in a TSModelfile may import checkpoints from (comma separated; empty = none)",
        },
    )
    origins: str = field(
        default="",
        metadata={
            "env": "TOLLAMA_ORIGINS",
            "help": "browser origins allowed by CORS besides loopback ones, comma separated ('*' wildcards; '*' alone = any)",
        },
    )

    def __post_init__(self) -> None:
        host, port = parse_host(self.host, self.port)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "port", port)
        from tollama.memory import parse_budget

        for name in ("memory_budget", "vram_budget"):
            parse_budget(str(getattr(self, name)), f"TOLLAMA_{name.upper()}", 0)  # malformed sizes fail at start
        parse_size(str(self.cache_bytes), "TOLLAMA_CACHE_BYTES")  # a malformed size fails at start
        if self.log_format not in ("text", "json"):
            raise ValueError(f"TOLLAMA_LOG_FORMAT={self.log_format!r}: must be text or json")
        self.gpu_assignment()  # malformed GPU settings fail when the settings are made, naming the entry

    def gpu_assignment(self, families: Collection[str] | None = None) -> GpuAssignment:
        """``TOLLAMA_GPUS`` and ``TOLLAMA_FAMILY_GPUS`` parsed; with ``families``, unknown names are errors."""
        return GpuAssignment(
            default=parse_gpus(self.gpus) if self.gpus.strip() else None,
            families=parse_family_gpus(self.family_gpus, families),
        )

    @property
    def cache_max_bytes(self) -> int:
        """``TOLLAMA_CACHE_BYTES`` in bytes (0: the result cache is off)."""
        return parse_size(str(self.cache_bytes), "TOLLAMA_CACHE_BYTES")

    @property
    def store_dir(self) -> Path:
        return self.home / "models"

    @property
    def runtimes_dir(self) -> Path:
        return self.runtimes if self.runtimes is not None else self.home / "runtimes"

    @property
    def family_roots(self) -> tuple[Path, ...]:
        """The folders that hold family folders: ``TOLLAMA_FAMILIES_DIR``, then ``TOLLAMA_FAMILIES_DIRS``."""
        extra = (Path(p.strip()).expanduser() for p in self.families_dirs.split(",") if p.strip())
        return (self.families_dir, *extra)

    @property
    def import_roots(self) -> tuple[Path, ...]:
        return tuple(Path(p.strip()).expanduser().resolve() for p in self.import_dirs.split(",") if p.strip())

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):  # a wildcard bind is reached on loopback
            host = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
        return f"http://{host}:{self.port}"

    @property
    def loopback_only(self) -> bool:
        """Whether the server binds a loopback address only."""
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.type, raw, f.metadata["env"])
            _check(f.metadata["env"], raw, values[f.name])
        return replace(cls(**values), **overrides)


def parse_host(raw: str, port: int) -> tuple[str, int]:
    """``TOLLAMA_HOST`` as Ollama takes ``OLLAMA_HOST``: ``host``, ``host:port``, ``:port``,
    ``[v6]:port``, or with an ``http://`` scheme. A port in it wins over ``TOLLAMA_PORT``."""
    text = raw.strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        if scheme not in ("http", "https"):
            raise ValueError(f"TOLLAMA_HOST={raw!r}: scheme {scheme!r} is not http")
        text = rest.rstrip("/")
    if text.startswith("["):
        host, _, tail = text[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:  # a bare host name, IPv4 or IPv6 address
        host, port_text = text, ""
    if port_text:
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError(f"TOLLAMA_HOST={raw!r}: port {port_text!r} is not a number from 0 to 65535")
        port = int(port_text)
    return host or "127.0.0.1", port


GpuIds = Literal["all"] | tuple[str, ...]
"""GPUs for one worker: ``"all"``, or device indices / UUIDs in order (an empty tuple: none)."""

# What the NVIDIA container toolkit (NVIDIA_VISIBLE_DEVICES) takes: a device index, a MIG index
# (GPU:instance; Docker only, CUDA_VISIBLE_DEVICES wants MIG UUIDs), a GPU UUID, or a MIG UUID.
_GPU_ID = re.compile(r"\d+(:\d+)?|GPU-[0-9A-Fa-f-]+|MIG-[0-9A-Za-z/-]+")


def parse_gpus(raw: str, where: str | None = None) -> GpuIds:
    """``all``, or comma-separated device indices or UUIDs (``0,2``, ``GPU-8f6c…``); empty = none.

    ``where`` names the value in errors (default ``TOLLAMA_GPUS='<raw>'``)."""
    where = where or f"TOLLAMA_GPUS={raw!r}"
    text = raw.strip()
    if text == "all":
        return "all"
    if not text:
        return ()
    ids = [part.strip() for part in text.split(",")]
    for gpu in ids:
        if gpu == "all":
            raise ValueError(f"{where}: 'all' cannot be combined with device ids")
        if not _GPU_ID.fullmatch(gpu):
            raise ValueError(
                f"{where}: {gpu!r} is not a GPU id (a host device index such as 0, a MIG index such as 0:1, "
                "or a GPU-/MIG- UUID as `nvidia-smi -L` prints it)"
            )
    duplicates = sorted({gpu for gpu in ids if ids.count(gpu) > 1})
    if duplicates:
        raise ValueError(f"{where}: {', '.join(duplicates)} listed twice")
    return tuple(ids)


def parse_family_gpus(raw: str, families: Collection[str] | None = None) -> dict[str, GpuIds]:
    """``TOLLAMA_FAMILY_GPUS``: ``family=ids`` entries separated by ``;`` (ids as ``TOLLAMA_GPUS``
    takes them, empty = none). With ``families``, a name outside it is an error."""
    setting = "TOLLAMA_FAMILY_GPUS"
    result: dict[str, GpuIds] = {}
    for entry in raw.split(";"):
        if not entry.strip():
            continue
        family, sep, ids = entry.partition("=")
        family = family.strip()
        if not sep or not family:
            raise ValueError(f"{setting}: entry {entry.strip()!r} is not family=ids (e.g. timesfm=1;chronos=0,2;uni2ts=all)")
        if families is not None and family not in families:
            raise ValueError(f"{setting}: entry {entry.strip()!r}: unknown family {family!r} (known: {', '.join(sorted(families))})")
        if family in result:
            raise ValueError(f"{setting}: family {family!r} is listed twice")
        result[family] = parse_gpus(ids, f"{setting}: entry {entry.strip()!r}")
    return result


@dataclass(frozen=True)
class GpuAssignment:
    """Which GPUs each family's CUDA worker is given (the docker and process runtimes)."""

    default: GpuIds | None = None
    """``TOLLAMA_GPUS``; None when it is not set."""
    families: Mapping[str, GpuIds] = field(default_factory=dict)
    """``TOLLAMA_FAMILY_GPUS``: per-family sets, each replacing ``default`` for its family."""

    def for_family(self, family: str) -> GpuIds | None:
        """The family's own set if it is listed, else ``TOLLAMA_GPUS``; None when neither is set."""
        return self.families.get(family, self.default)


class SettingError(ValueError):
    """A ``TOLLAMA_*`` value that is not accepted; the message names the variable, the value and
    what is accepted (the CLI prints it as one line and exits 2)."""


def _bad_setting(name: str, raw: str, accepted: str) -> SettingError:
    return SettingError(f"{name}={raw!r} is not accepted; expected {accepted}")


def _convert(kind: Any, raw: str, name: str) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind in ("Path", "Path | None"):
            return Path(raw).expanduser()
    except ValueError:
        raise _bad_setting(name, raw, _ACCEPTED.get(name, (None, "an integer" if kind == "int" else "a number"))[1]) from None
    return raw


_SECRETS = ("hf_token", "api_keys", "api_key")


def _keep_alive_ok(raw: str) -> bool:
    from tollama.errors import InvalidValue
    from tollama.keepalive import parse_keep_alive

    try:
        parse_keep_alive(raw)
    except InvalidValue:
        return False
    return True


def _budget_ok(raw: str) -> bool:
    from tollama.memory import parse_budget

    try:
        parse_budget(raw, "budget", 0)
    except ValueError:
        return False
    return True


def parse_size(raw: str, setting: str) -> int:
    """A byte count with an optional unit (``64MiB``, ``500MB``, ``1000000``); ``0`` is allowed."""
    from tollama.memory import parse_budget

    if raw.strip().lower() == "auto":
        raise ValueError(f"{setting}={raw!r}: expected 0 (off) or a size such as 64MiB or 1000000")
    try:
        return parse_budget(raw, setting, 0)
    except ValueError:
        raise ValueError(f"{setting}={raw!r}: expected 0 (off) or a size such as 64MiB or 1000000") from None


def _size_ok(raw: str) -> bool:
    try:
        parse_size(raw, "size")
    except ValueError:
        return False
    return True


def _static_workers_ok(raw: str) -> bool:
    from tollama.runtime.static import parse_workers

    try:
        parse_workers(raw)
    except ValueError as exc:
        raise SettingError(f"{exc}; expected family=http://host:port entries, comma separated (a family may repeat)") from None
    return True


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?|mps")
_ACCEPTED: dict[str, tuple[Any, str]] = {
    # variable: (test of the converted value, what is accepted)
    "TOLLAMA_PORT": (lambda v: 0 <= v <= 65535, "an integer port from 0 to 65535"),
    "TOLLAMA_MAX_LOADED_MODELS": (lambda v: v >= 0, "an integer >= 0 (0 = no limit)"),
    "TOLLAMA_MAX_QUEUE": (lambda v: v >= 1, "an integer >= 1"),
    "TOLLAMA_MEMORY_BUDGET": (_budget_ok, "auto, 0 (no limit) or a size in bytes with an optional unit ('8GiB', '500MB')"),
    "TOLLAMA_VRAM_BUDGET": (_budget_ok, "auto, 0 (no limit) or a size in bytes with an optional unit ('8GiB', '500MB')"),
    "TOLLAMA_LOG_FORMAT": (lambda v: v in ("text", "json"), "text or json"),
    "TOLLAMA_MAX_BODY_BYTES": (lambda v: v >= 1, "a number of bytes >= 1"),
    "TOLLAMA_MAX_SERIES": (lambda v: v >= 1, "an integer >= 1"),
    "TOLLAMA_CACHE_BYTES": (_size_ok, "0 (off) or a size in bytes with an optional unit ('64MiB', '500MB')"),
    "TOLLAMA_WORKER_THREADS": (lambda v: v >= 0, "an integer >= 0 (0 = the library's default)"),
    "TOLLAMA_PULL_CONCURRENCY": (lambda v: v >= 1, "an integer >= 1"),
    "TOLLAMA_WORKER_START_TIMEOUT": (lambda v: v > 0, "a number of seconds > 0"),
    "TOLLAMA_REQUEST_TIMEOUT": (lambda v: v > 0, "a number of seconds > 0"),
    "TOLLAMA_STATIC_WORKERS": (_static_workers_ok, "family=http://host:port entries, comma separated"),
    "TOLLAMA_STATIC_HEALTH_INTERVAL": (lambda v: v > 0, "a number of seconds > 0"),
    "TOLLAMA_STATIC_RESOLVE_INTERVAL": (lambda v: v > 0, "a number of seconds > 0"),
    "TOLLAMA_RUNTIME": (lambda v: v in ("auto", "docker", "process", "static"), "one of auto, docker, process, static"),
    "TOLLAMA_VARIANT": (lambda v: v in ("cpu", "cuda"), "one of cpu, cuda"),
    "TOLLAMA_LOG_LEVEL": (lambda v: v.lower() in ("debug", "info", "warning", "error"), "one of debug, info, warning, error"),
    "TOLLAMA_DEVICE": (lambda v: _DEVICE.fullmatch(v) is not None, "auto, cpu, cuda, cuda:N or mps"),
    "TOLLAMA_KEEP_ALIVE": (_keep_alive_ok, "seconds (300), a duration ('5m', '1h30m'), 0 or a negative number (forever)"),
}


def _check(name: str, raw: str, value: Any) -> None:
    rule = _ACCEPTED.get(name)
    if rule is not None and not rule[0](value):
        raise _bad_setting(name, raw, rule[1])


def describe(settings: Settings) -> list[tuple[str, str, str, str]]:
    """Rows of (environment variable, current value, default, meaning) for every setting."""
    default = Settings()
    rows = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        shown = "***" if f.name in _SECRETS and value else str(value)
        default_shown = "~/.tollama" if f.name == "home" else str(getattr(default, f.name))
        rows.append((f.metadata["env"], shown, default_shown, f.metadata["help"]))
    return rows


def access_notice(settings: Settings) -> str:
    """The line ``tollama serve`` prints at start: who can reach the server, and with what."""
    if settings.api_keys.strip() or settings.api_keys_file is not None:
        return "API keys are required (TOLLAMA_API_KEYS / TOLLAMA_API_KEYS_FILE) on every route but /, /healthz, /readyz, /api/version"
    if settings.loopback_only:
        return "no API keys set: open to local clients only (loopback); set TOLLAMA_API_KEYS before binding another address"
    return (
        f"WARNING: no API keys set and bound to {settings.host}: anyone who reaches this port can pull, delete and forecast;"
        " set TOLLAMA_API_KEYS"
    )
