"""The catalogue of pullable models (``registry.yaml``), validated strictly at startup.

Each entry names its family, hub repository and revision, licence, size and the
capabilities the gateway validates requests against *before* any worker starts. A capability an
entry leaves out comes from its family's manifest (``[tool.tollama.capabilities]``), then from
:class:`Capabilities`' own default.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml

from tollama.families import Families

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 20x faster

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Level = Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)]


class Capabilities(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    max_context: PositiveInt
    max_horizon: PositiveInt
    quantiles: list[Level] = []
    """The native quantile grid; empty when quantiles come from samples (every level is native)."""
    sampling: bool = False
    multivariate: bool = False
    past_covariates: bool = False
    future_covariates: bool = False
    static_covariates: bool = False
    categorical_covariates: bool = False
    missing_values: bool = True
    min_context: PositiveInt = 1

    def tags(self) -> list[str]:
        """Capability words for ``/api/show`` (Ollama answers ``capabilities`` as a list of strings)."""
        words = ["forecast", "quantiles"]  # every model answers any quantile level (native grid, samples or intervals)
        for name in ("multivariate", "past_covariates", "future_covariates", "static_covariates",
                     "categorical_covariates", "missing_values", "sampling"):
            if getattr(self, name):
                words.append(name)
        return words


class RegistryEntry(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    name: str = ""
    family: str
    description: str
    repo: str | None = None
    """Hugging Face repository; ``None`` for models with no weights (the baseline family)."""
    revision: str = "main"
    license: str
    license_acceptance: bool = False
    size: Annotated[int, msgspec.Meta(ge=0)] = 0
    parameters: str = ""
    files: list[str] | None = None
    """Glob patterns of the repo files to fetch; ``None`` fetches every file."""
    capabilities: Capabilities
    defaults: dict[str, Any] = {}
    builtin: bool = False
    """Installed from the first start, no pull (no weights)."""
    variants: list[str] = []
    """Entries (this one included) that serve the same model at other context/horizon limits;
    a request to this name is served by the variant that fits it (docs/registry.md)."""


class RegistryFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: int
    models: dict[str, RegistryEntry]


class RegistryError(Exception):
    """registry.yaml is malformed (raised at startup, names the entry and field)."""


class Registry:
    def __init__(self, entries: dict[str, RegistryEntry], manifests: Families | None = None) -> None:
        self._entries = entries
        self.manifests = manifests if manifests is not None else Families({})
        """The family manifests this catalogue was read with (what each family declares of itself)."""

    @classmethod
    def load(cls, path: Path, manifests: Families | None = None) -> Registry:
        try:
            raw = yaml.load(path.read_text(), Loader=_LOADER)
        except (OSError, yaml.YAMLError) as exc:
            raise RegistryError(f"cannot read registry {path}: {exc}") from exc
        if manifests is not None:
            _apply_capability_defaults(raw, manifests)
        try:
            parsed = msgspec.convert(raw, RegistryFile)
        except msgspec.ValidationError as exc:
            raise RegistryError(f"{path}: {exc}") from exc
        entries = {}
        for name, entry in parsed.models.items():
            if name != name.lower():
                raise RegistryError(f"{path}: model name {name!r} must be lower case")
            if entry.repo is None and not entry.builtin:
                raise RegistryError(f"{path}: model {name!r} has no repo and is not builtin")
            q = entry.capabilities.quantiles
            if q != sorted(set(q)):
                raise RegistryError(f"{path}: model {name!r}: capabilities.quantiles must be sorted and unique")
            entries[name] = msgspec.structs.replace(entry, name=name)
        _check_variants(path, entries)
        return cls(entries, manifests)

    def get(self, name: str) -> RegistryEntry | None:
        return self._entries.get(name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def families(self) -> list[str]:
        return sorted({e.family for e in self._entries.values()})

    def variants(self, entry: RegistryEntry) -> list[RegistryEntry]:
        """The entries ``entry`` declares as its variants (itself included); empty when it declares none."""
        return [self._entries[name] for name in entry.variants]

    def closest(self, name: str) -> str | None:
        """The catalogue name most like ``name`` (for 'did you mean' hints)."""
        import difflib

        match = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.6)
        return match[0] if match else None


def _apply_capability_defaults(raw: Any, manifests: Families) -> None:
    """Fill each raw entry's missing capabilities from its family's manifest (before validation)."""
    models = raw.get("models") if isinstance(raw, dict) else None
    for entry in (models or {}).values() if isinstance(models, dict) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("family"), str):
            continue
        defaults = manifests.capability_defaults(entry["family"])
        caps = entry.get("capabilities", {})
        if defaults and isinstance(caps, dict):
            entry["capabilities"] = {**defaults, **caps}


def _check_variants(path: Path, entries: dict[str, RegistryEntry]) -> None:
    """A variant set is declared once, on its base, and is flat: no nesting, hence no cycles."""
    owner: dict[str, str] = {}
    for base in entries.values():
        if not base.variants:
            continue
        where = f"{path}: model {base.name!r}: variants"
        if base.name not in base.variants:
            raise RegistryError(f"{where} must list {base.name!r} itself")
        shapes: dict[tuple[int, int], str] = {}
        for name in base.variants:
            other = entries.get(name)
            if other is None:
                raise RegistryError(f"{where}: {name!r} is not in the registry")
            if name in owner:
                raise RegistryError(f"{where}: {name!r} is listed twice or is already a variant of {owner[name]!r}")
            owner[name] = base.name
            if other.family != base.family or other.repo != base.repo:
                raise RegistryError(f"{where}: {name!r} must have the same family and repo ({base.family}, {base.repo})")
            if name != base.name and other.variants:
                raise RegistryError(f"{where}: {name!r} declares variants of its own (variant sets do not nest)")
            shape = (other.capabilities.max_context, other.capabilities.max_horizon)
            if shape in shapes:
                raise RegistryError(f"{where}: {name!r} and {shapes[shape]!r} have the same max_context and max_horizon {shape}")
            shapes[shape] = name


def pick_variant(candidates: Iterable[RegistryEntry], context: int, horizon: int) -> RegistryEntry | None:
    """The candidate that should serve ``context`` points of history and ``horizon`` steps.

    granite-tsfm's ``get_model`` rule: among candidates whose ``max_horizon`` covers the horizon,
    the longest ``max_context`` the history fills; a history shorter than every such context gets
    the shortest one; among equal contexts, the shortest ``max_horizon``. None when none covers it.
    """
    fits = [e for e in candidates if e.capabilities.max_horizon >= horizon]
    if not fits:
        return None
    filled = [e for e in fits if e.capabilities.max_context <= context]
    if filled:
        longest = max(e.capabilities.max_context for e in filled)
        pool = [e for e in filled if e.capabilities.max_context == longest]
    else:
        shortest = min(e.capabilities.max_context for e in fits)
        pool = [e for e in fits if e.capabilities.max_context == shortest]
    return min(pool, key=lambda e: e.capabilities.max_horizon)
