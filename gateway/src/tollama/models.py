"""The models service: names → installed manifests, registry entries and load specs.

Joins the store (what is installed) with the registry (what a model can do) and the
parameters layer of created models, and answers Ollama's list/show shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tollama import ensembles, schema
from tollama.errors import InternalError, ModelNotFound, TollamaError
from tollama.names import ModelRef, parse_name
from tollama.registry import Registry, RegistryEntry
from tollama.scheduler import ModelSpec, Slot
from tollama.store import FileEntry, Manifest, ModelStore, hash_file, utc_now


@dataclass(frozen=True)
class Resolved:
    ref: ModelRef
    manifest: Manifest
    digest: str
    entry: RegistryEntry
    params: dict[str, Any]  # registry defaults overlaid with the TSModelfile parameters

    def spec(self, store: ModelStore, device: str) -> ModelSpec:
        load_opts = {k: v for k, v in self.params.items() if k in ("dtype",)}
        return ModelSpec(
            key=self.digest, name=self.ref.full, model=self.entry.name, family=self.entry.family,
            path=store.snapshot(self.manifest, self.digest), size=self.entry.size or store.size(self.manifest),
            device=str(self.params.get("device", device)), options=load_opts,
        )


_WEIGHT_FORMATS = ((".safetensors", "safetensors"), (".gguf", "gguf"), (".bin", "pytorch"), (".pt", "pytorch"), (".pth", "pytorch"), (".ckpt", "pytorch"))


def weights_format(m: Manifest, entry: RegistryEntry | None) -> str:
    """``details.format``: the format of the model's weight files; ``builtin`` for a model with none."""
    if ensembles.is_ensemble(m):
        return ensembles.ENSEMBLE
    if entry is not None and entry.builtin:
        return "builtin"
    suffixes = {f.path.rsplit("/", 1)[-1].lower() for f in m.files}
    for suffix, name in _WEIGHT_FORMATS:
        if any(p.endswith(suffix) for p in suffixes):
            return name
    return "unknown"


_FOREVER = "2318-11-25T00:00:00+00:00"


def _iso(ts: str) -> str:
    return ts.replace("Z", "+00:00") if ts.endswith("Z") else ts


class Models:
    def __init__(self, store: ModelStore, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self._cache: dict[str, Resolved] = {}
        self._pulled: dict[str, list[Resolved]] = {}
        self._specs: dict[tuple[str, str, str], ModelSpec] = {}

    def changed(self) -> None:
        """Forget cached resolutions (after pull, delete, copy, create)."""
        self._cache.clear()
        self._pulled.clear()
        self._specs.clear()

    def spec(self, r: Resolved, device: str) -> ModelSpec:
        """``r.spec(store, device)``, made once per resolution (its snapshot folder is built or checked
        then, not on every request); forgotten with the resolutions."""
        key = (r.ref.full, r.digest, device)
        found = self._specs.get(key)
        if found is None:
            found = self._specs[key] = r.spec(self.store, device)
        return found

    def switches(self, r: Resolved) -> bool:
        """Whether requests to ``r`` choose among its variants: only the registry entry itself,
        pulled under its own name and unmodified (copies and created models are served as they are)."""
        return bool(r.entry.variants) and r.ref.name == r.entry.name and r.manifest.parent is None and not r.manifest.parameters

    def pulled_variants(self, entry: RegistryEntry) -> list[Resolved]:
        """``entry``'s variants that are installed under their own names (``<variant>:latest``)."""
        hit = self._pulled.get(entry.name)
        if hit is not None:
            return hit
        out = []
        for variant in self.registry.variants(entry):
            ref = parse_name(variant.name)
            manifest = self.store.get(ref)
            if manifest is not None and manifest.model == variant.name and manifest.parent is None:
                out.append(self.resolve(ref.full))
        self._pulled[entry.name] = out
        return out

    def ensure_builtins(self) -> None:
        """Models with no weights (the baseline family) are installed from the first start."""
        for entry in self.registry:
            if not entry.builtin:
                continue
            ref = parse_name(entry.name)
            if self.store.get(ref) is not None:
                continue
            config = json.dumps({"model": entry.name, "family": entry.family}, sort_keys=True).encode()
            partial = self.store.tmp_dir / f"builtin-{entry.name}.partial"
            partial.write_bytes(config)
            digest, _ = hash_file(partial)
            self.store.commit_blob(partial, digest, verified=True)
            self.store.put_manifest(ref, Manifest(
                name=ref.full, model=entry.name, family=entry.family, license=entry.license,
                files=[FileEntry(path="config.json", digest=digest, size=len(config))], created_at=utc_now(),
            ))

    def installed_name(self, raw: str) -> str | None:
        """``raw``'s installed ``name:tag``, or None when no installed model has that name (metrics labels)."""
        try:
            return self.resolve(raw).ref.full
        except TollamaError:
            return None

    def resolve(self, raw: str) -> Resolved:
        hit = self._cache.get(raw)
        if hit is not None:
            return hit
        ref = parse_name(raw)
        manifest = self.store.require(ref, known=self.registry.names())
        entry = self._ensemble_entry(ref, manifest) if ensembles.is_ensemble(manifest) else self.registry.get(manifest.model)
        if entry is None:
            raise ModelNotFound(f"model '{ref.full}' is installed but its base model {manifest.model!r} is no longer in the catalogue", model=ref.full)
        params = {**entry.defaults, **manifest.parameters}
        resolved = Resolved(ref=ref, manifest=manifest, digest=self.store.digest(manifest), entry=entry, params=params)
        self._cache[raw] = resolved
        return resolved

    def _ensemble_entry(self, ref: ModelRef, m: Manifest) -> RegistryEntry:
        found = []
        for name in ensembles.members(m):
            try:
                member = self.resolve(name)
            except ModelNotFound as exc:
                raise ensembles.missing(ref.full, name, exc) from None
            found.append(member.entry)
        return ensembles.entry(ref.full, m, found)

    def details(self, m: Manifest, entry: RegistryEntry | None) -> schema.Details:
        family = m.family
        return schema.Details(
            format=weights_format(m, entry), family=family, families=[family], parameter_size=entry.parameters if entry else "",
            parent_model=m.parent or "",
        )

    def tags(self) -> schema.Tags:
        out = []
        for m in self.store.list():
            entry = self.registry.get(m.model)
            out.append(schema.TagModel(
                name=m.name, model=m.name, modified_at=_iso(m.created_at), size=self.store.size(m),
                digest=self.store.digest(m).split(":", 1)[1], details=self.details(m, entry),
            ))
        return schema.Tags(models=out)

    def show(self, raw: str) -> schema.ShowResponse:
        r = self.resolve(raw)
        m, e = r.manifest, r.entry
        caps = e.capabilities
        info: dict[str, Any] = {
            "general.architecture": e.family,
            "general.basename": e.name,
            "general.parameter_count": e.parameters,
            "tollama.family": e.family,
            "tollama.base": e.name,
            "tollama.parent": m.parent,
            "tollama.builtin": e.builtin,
            "tollama.parameters": dict(m.parameters),
            "tollama.quantiles": list(r.params.get("quantiles", schema.DEFAULT_QUANTILES)),
            "tollama.repo": m.repo or e.repo,
            "tollama.revision": (m.revision or e.revision) if (m.repo or e.repo) else None,
            "tollama.commit": m.commit,
            "tollama.digest": r.digest,
            "tollama.license_acceptance": e.license_acceptance,
            "tollama.files": [{"path": f.path, "digest": f.digest, "size": f.size} for f in m.files],
            "tollama.defaults": r.params,
            "tollama.variants": e.variants if self.switches(r) else [],
        }
        if ensembles.is_ensemble(m):
            info["tollama.ensemble.members"] = ensembles.members(m)
            info["tollama.ensemble.combine"] = ensembles.rule(m.parameters)
        for name in caps.__struct_fields__:
            info[f"tollama.capabilities.{name}"] = getattr(caps, name)
        parameters = "\n".join(f"{k:<20} {json.dumps(v) if not isinstance(v, str) else v}" for k, v in sorted(r.params.items()))
        return schema.ShowResponse(
            license=m.license or e.license, modelfile=m.modelfile or f"FROM {e.name}\n", parameters=parameters, template="",
            details=self.details(m, e), model_info=info, capabilities=caps.tags(), modified_at=_iso(m.created_at),
        )

    def ps_entry(self, slot: Slot, now_mono: float) -> schema.PsModel:
        try:
            r = self.resolve(slot.spec.name)
            details = self.details(r.manifest, r.entry)
        except (ModelNotFound, InternalError):
            details = schema.Details(family=slot.spec.family, families=[slot.spec.family], parameter_size="")
        # Always a timestamp (Ollama clients parse it): in use → now + its keep_alive; forever → far future.
        if slot.expires_at is not None:
            expires = (datetime.now(UTC) + timedelta(seconds=max(0.0, slot.expires_at - now_mono))).isoformat()
        elif slot.keep_alive is None:
            expires = _FOREVER
        else:
            expires = (datetime.now(UTC) + timedelta(seconds=slot.keep_alive)).isoformat()
        return schema.PsModel(
            name=slot.spec.name, model=slot.spec.name, size=slot.memory, digest=slot.spec.key.split(":", 1)[-1],
            details=details, expires_at=expires, size_vram=slot.vram or (slot.memory if slot.device.startswith("cuda") else 0),
            family=slot.spec.family, device=slot.device, in_use=slot.refcount,
        )

    def catalogue(self) -> list[dict[str, Any]]:
        installed = {m.model for m in self.store.list() if m.parent is None}
        rows = []
        for e in self.registry:
            caps = {name: getattr(e.capabilities, name) for name in e.capabilities.__struct_fields__}
            rows.append({
                "name": e.name, "family": e.family, "description": e.description, "repo": e.repo, "revision": e.revision,
                "license": e.license, "license_acceptance": e.license_acceptance, "size": e.size, "parameters": e.parameters,
                "installed": e.name in installed, "builtin": e.builtin, "capabilities": caps, "defaults": e.defaults,
                "variants": e.variants,
            })
        return rows
