"""The CPU fast path's shared half: the ``backend``/``precision`` options, and exported ONNX graphs
cached on disk and served through ONNX Runtime.

A family that exports a network (Chronos-Bolt, TinyTimeMixer) keeps its preprocessing and its
``torch.onnx.export`` call; this module owns what every such family would otherwise copy:

* :class:`BackendChoice` — the two options, as fields a family's options Struct inherits (a wrong
  value is one ``BadInput`` from :func:`~tollama_kit.options.parse_options`);
* :func:`cache_dir` — where graphs are written: ``TOLLAMA_ONNX_CACHE``, else
  ``$XDG_CACHE_HOME/tollama/onnx``, else ``~/.cache/tollama/onnx`` (the model store may be mounted
  read-only, so graphs never go next to the checkpoint);
* :class:`GraphCache` — one file per (checkpoint digest, exporter versions, family recipe, precision),
  written to a temporary name and renamed into place (concurrent workers never see a partial file);
  a file that ONNX Runtime cannot open is deleted and rebuilt;
* :class:`OnnxSession` — an ``onnxruntime.InferenceSession`` on the CPU provider with the worker's
  thread count;
* :class:`ExportedNetwork` — one loaded checkpoint's float32 graph and its int8 variant, built on
  first use and at most once per load (a failure is remembered, not retried per request);
* :func:`select` — the session a forecast uses, or ``None`` for torch: ``auto`` follows the
  family's rule where a float32 graph is ready (never exporting on its own), an explicit ``onnx``/``int8`` that cannot be served is ``Unsupported`` (422).

onnxruntime, onnx and torch are imported lazily: the kit itself does not depend on them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import msgspec

from tollama_kit.errors import Unsupported

log = logging.getLogger("tollama.onnx")

CACHE_ENV = "TOLLAMA_ONNX_CACHE"
_EXPORTER_DISTS = ("torch", "onnx", "onnxscript")


class BackendChoice(msgspec.Struct, frozen=True, kw_only=True):
    """``options.backend`` and ``options.precision``: a family that serves the ONNX path declares its
    typed options Struct as a subclass, so the two are parsed, checked and documented (its
    ``options.json``) with the rest of its options by :func:`tollama_kit.options.parse_options`."""

    backend: Literal["auto", "torch", "onnx"] = "auto"
    """``auto`` (the family's measured rule, from a graph already exported: it never exports), ``torch`` or ``onnx``."""
    precision: Literal["float32", "int8"] = "float32"
    """``float32``, or ``int8``: ONNX Runtime's dynamic quantisation (an explicit opt-in)."""

    def __post_init__(self) -> None:
        if self.precision == "int8" and self.backend == "torch":
            raise ValueError("'precision' int8 runs on the ONNX path only: use backend 'onnx' or 'auto', got 'torch'")


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The directory exported graphs are cached in (see the module docstring)."""
    env = os.environ if env is None else env
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "tollama" / "onnx"


def checkpoint_digest(path: str | Path) -> str:
    """sha256 over the snapshot's regular files (relative name, size, bytes), in name order."""
    root = Path(path)
    h = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f"{file.relative_to(root).as_posix()}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def exporter_versions() -> dict[str, str]:
    out = {}
    for dist in _EXPORTER_DISTS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


class OnnxSession:
    """One ONNX Runtime session on the CPU provider."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort  # type: ignore[import-not-found,unused-ignore]

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only: the worker log is not ORT's debug channel
        self.path = path
        self.session: Any = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def run(self, feeds: Mapping[str, Any]) -> list[Any]:
        return list(self.session.run(None, dict(feeds)))


class GraphCache:
    """Exported graphs on disk, one file per key; see the module docstring."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_dir()

    def path_for(self, key: Mapping[str, str]) -> Path:
        name = hashlib.sha256(json.dumps(dict(key), sort_keys=True).encode()).hexdigest()[:32]
        return self.root / f"{key.get('recipe', 'graph')}-{name}.onnx"

    def has(self, key: Mapping[str, str]) -> bool:
        """Whether a graph for ``key`` is on disk (written whole: partial files never get its name)."""
        return self.path_for(key).is_file()

    def session(self, key: Mapping[str, str], build: Callable[[Path], None], threads: int) -> OnnxSession:
        """The cached graph's session; ``build(tmp)`` writes the graph when it is missing or unreadable."""
        target = self.path_for(key)
        if target.is_file():
            try:
                return OnnxSession(target, threads)
            except Exception as exc:  # noqa: BLE001 -- ORT raises its own pybind types for a truncated or foreign file: rebuild it
                log.warning("cached ONNX graph %s is unreadable (%s); rebuilding it", target, exc)
                target.unlink(missing_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            build(tmp)
            session = OnnxSession(tmp, threads)
            os.replace(tmp, target)  # atomic: a concurrent reader sees the old file, the new one, or none
        finally:
            tmp.unlink(missing_ok=True)
        session.path = target
        return session


def quantize_int8(source: Path) -> Callable[[Path], None]:
    """A ``build`` for :meth:`GraphCache.session`: ONNX Runtime's dynamic int8 quantisation of ``source``."""

    def build(out: Path) -> None:
        import onnx  # type: ignore[import-not-found,unused-ignore]
        from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-not-found,unused-ignore]

        # The exporter's recorded intermediate shapes can disagree with the quantiser's own shape
        # inference (seen with the dynamo exporter's output): quantise a copy without them.
        model = onnx.load(str(source))
        del model.graph.value_info[:]
        stripped = out.with_name(out.name + ".fp32")
        try:
            onnx.save(model, str(stripped))
            quantize_dynamic(model_input=str(stripped), model_output=str(out), weight_type=QuantType.QInt8)
        finally:
            stripped.unlink(missing_ok=True)

    return build


class ExportedNetwork:
    """See the module docstring; ``export(out)`` writes the float32 graph of the loaded network."""

    def __init__(
        self,
        recipe: str,
        checkpoint: str | Path,
        export: Callable[[Path], None],
        *,
        threads: int,
        cache: GraphCache | None = None,
    ) -> None:
        self.key = {"recipe": recipe, "checkpoint": checkpoint_digest(checkpoint), **exporter_versions()}
        self.export = export
        self.threads = threads
        self.cache = cache or GraphCache()
        self.failed: dict[str, str] = {}
        self._sessions: dict[str, OnnxSession] = {}
        self._lock = threading.Lock()

    def session(self, precision: str = "float32") -> OnnxSession:
        with self._lock:
            if precision in self.failed:
                raise RuntimeError(self.failed[precision])
            try:
                return self._session(precision)
            except Exception as exc:
                self.failed[precision] = f"{type(exc).__name__}: {exc}"
                raise

    def ready(self) -> bool:
        """Whether the float32 graph can be served without an export: opened by this load already, or
        in the cache on disk (an earlier ``backend: onnx``, this process's or another's)."""
        if "float32" in self.failed:
            return False
        return "float32" in self._sessions or self.cache.has({**self.key, "precision": "float32"})

    def _session(self, precision: str) -> OnnxSession:
        if precision not in self._sessions:
            fp32 = self._sessions.get("float32") or self.cache.session(
                {**self.key, "precision": "float32"}, self.export, self.threads
            )
            self._sessions["float32"] = fp32
            if precision == "int8":
                self._sessions["int8"] = self.cache.session(
                    {**self.key, "precision": "int8"}, quantize_int8(fp32.path), self.threads
                )
        return self._sessions[precision]


def select(
    network: ExportedNetwork | None, reason: str, choice: BackendChoice, name: str, *, auto: bool
) -> OnnxSession | None:
    """The ONNX session for this forecast, or ``None`` for the torch path.

    ``network``: the loaded model's graphs (``None`` when it has no ONNX path, ``reason`` says why);
    ``auto``: the family's measured rule for ``backend: auto`` at this batch. ``auto`` serves float32
    only, and only from a graph that is :meth:`~ExportedNetwork.ready`: it never makes a request pay
    a first export (seconds to minutes); an explicit ``backend: onnx`` (at load or in a forecast)
    does. (A cached graph that no longer opens is rebuilt, whoever asks.)"""
    explicit = choice.backend == "onnx" or choice.precision == "int8"
    if choice.backend == "torch" or (not explicit and not auto):
        return None
    if network is None:
        if explicit:
            raise Unsupported(f"{name}: option backend 'onnx' / precision 'int8' is not available: {reason}")
        return None
    if not explicit and not network.ready():
        return None
    try:
        return network.session(choice.precision)
    except Exception as exc:
        if explicit:
            raise Unsupported(f"{name}: the ONNX path is not available: {exc}") from exc
        log.warning("%s: the ONNX path is not available, serving with torch: %s", name, exc)
        return None
