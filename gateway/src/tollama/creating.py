"""``tollama create``: a new model from a TSModelfile.

The new manifest references the base model's blobs by digest (nothing is copied) and
adds a parameters layer; its ``modelfile`` is the canonical TSModelfile, so
``show --modelfile`` output recreates the same digest. ``FROM`` a local directory imports
a checkpoint the user already has (family detected from its config, or ``PARAM family``).
``ENSEMBLE a b …`` writes a manifest with no files that names its members (:mod:`tollama.ensembles`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tollama import ensembles
from tollama.errors import Forbidden, InvalidValue, ModelNotFound
from tollama.families import Families
from tollama.models import Models
from tollama.names import ModelRef, parse_name
from tollama.registry import RegistryEntry
from tollama.store import FileEntry, Manifest, hash_file, utc_now
from tollama.tsmodelfile import FAMILY_PARAMS, IDENTITY, SAMPLING_PARAMS, TSModelfile, TSModelfileError, parse, render


def _line(mf: TSModelfile, name: str) -> int:
    return mf.lines.get(name, 1)


def check_against(mf: TSModelfile, entry: RegistryEntry, families: Families) -> None:
    """Refuse, at create time, parameter values the model cannot honour (errors name the line): limits
    from the entry's capabilities, family options from what the family's manifest declares."""
    caps, p = entry.capabilities, mf.params
    limits = [("horizon", caps.max_horizon), ("context_length", caps.max_context)]
    for name, limit in limits:
        if name in p and p[name] > limit:
            raise TSModelfileError(_line(mf, name), 1, f"PARAM {name} {p[name]} exceeds the maximum of {limit} for {entry.name!r}", p[name], limit)
    only = {name: caps.sampling for name in SAMPLING_PARAMS}
    only.update({name: families.honours(entry.family, name) for name in FAMILY_PARAMS})
    for name, allowed in only.items():
        if name in p and not allowed:
            raise TSModelfileError(_line(mf, name), 1, f"PARAM {name} does not apply to {entry.name!r} ({entry.family} family)", p[name])


class Creator:
    """``import_roots``: the server directories ``FROM <path>`` may read (``TOLLAMA_IMPORT_DIRS``);
    a path outside them (after resolving symlinks) is refused, so a request cannot make the
    gateway read an arbitrary local file."""

    def __init__(self, models: Models, import_roots: tuple[Path, ...] = ()) -> None:
        self.models = models
        self.import_roots = import_roots

    def create(self, name: str, text: str) -> Iterator[dict[str, Any]]:
        ref = parse_name(name)
        yield {"status": "parsing modelfile"}
        mf = parse(text)
        if mf.members:
            yield from self._ensemble(ref, mf)
            return
        if _is_path(mf.from_):
            _no_combine(mf)
            yield from self._import(ref, mf)
            return
        base = self.models.resolve(mf.from_)
        if not ensembles.is_ensemble(base.manifest):
            _no_combine(mf)
        check_against(mf, base.entry, self.models.registry.manifests)
        for f in base.manifest.files:
            yield {"status": f"using existing layer {f.digest}"}
        yield {"status": "creating parameter layer"}
        own = {k: v for k, v in mf.params.items() if k not in IDENTITY}
        canonical = TSModelfile(from_=base.ref.full, params=own, license=mf.license, description=mf.description)
        manifest = Manifest(
            name=ref.full, model=base.manifest.model, family=base.manifest.family, files=list(base.manifest.files),
            repo=base.manifest.repo, revision=base.manifest.revision, commit=base.manifest.commit,
            license=mf.license or base.manifest.license, parent=base.ref.full,
            parameters={**base.manifest.parameters, **own}, modelfile=render(canonical), created_at=utc_now(),
        )
        yield {"status": "writing manifest"}
        digest = self.models.store.put_manifest(ref, manifest)
        self.models.changed()
        yield {"status": "success", "digest": digest}

    def _ensemble(self, ref: ModelRef, mf: TSModelfile) -> Iterator[dict[str, Any]]:
        line = _ensemble_line(mf)
        for name in IDENTITY:
            if name in mf.params:
                raise TSModelfileError(_line(mf, name), 1, f"PARAM {name} does not apply to an ENSEMBLE model", mf.params[name])
        names = []
        for name in mf.members:
            try:
                member = self.models.resolve(name)
            except ModelNotFound as exc:
                raise TSModelfileError(line, 10, f"ENSEMBLE member {name!r} is not installed ({exc.message})", name) from None
            if ensembles.is_ensemble(member.manifest):
                raise TSModelfileError(line, 10, f"ENSEMBLE member {name!r} is itself an ensemble; name its members instead", name)
            if member.ref.full in names:
                raise TSModelfileError(line, 10, f"ENSEMBLE names member {member.ref.full!r} twice; each member once", name)
            check_against(mf, member.entry, self.models.registry.manifests)
            names.append(member.ref.full)
            yield {"status": f"using member {member.ref.full} ({member.digest})"}
        params = {"combine": "median", **mf.params}  # the default spelled out: with or without the line, one digest
        own = {**params, "members": names}
        canonical = TSModelfile(from_="", members=names, params=params, license=mf.license, description=mf.description)
        manifest = Manifest(name=ref.full, model=ensembles.ENSEMBLE, family=ensembles.ENSEMBLE, files=[], license=mf.license,
                            parameters=own, modelfile=render(canonical), created_at=utc_now())
        yield {"status": "writing manifest"}
        digest = self.models.store.put_manifest(ref, manifest)
        self.models.changed()
        yield {"status": "success", "digest": digest}

    def _import(self, ref: ModelRef, mf: TSModelfile) -> Iterator[dict[str, Any]]:
        root = Path(os.path.expanduser(mf.from_)).resolve()
        if not any(root.is_relative_to(allowed) for allowed in self.import_roots):
            raise Forbidden(
                f"FROM {mf.from_!r}: importing a server directory is allowed only under TOLLAMA_IMPORT_DIRS "
                f"({', '.join(map(str, self.import_roots)) or 'not set'})", path="modelfile", value=mf.from_,
            )
        if not root.is_dir():
            raise TSModelfileError(1, 6, f"FROM {mf.from_!r}: no such checkpoint directory on the server", mf.from_)
        entry = self._entry_for(root, mf)
        check_against(mf, entry, self.models.registry.manifests)
        files: list[FileEntry] = []
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if not path.resolve().is_relative_to(root):
                raise Forbidden(f"FROM {mf.from_!r}: {path.relative_to(root)} links outside the directory", path="modelfile", value=mf.from_)
            rel = path.relative_to(root).as_posix()
            staged = self.models.store.tmp_dir / f"import-{os.getpid()}-{len(files)}.partial"
            staged.write_bytes(path.read_bytes())
            digest, _ = hash_file(staged)
            self.models.store.commit_blob(staged, digest, verified=True)
            files.append(FileEntry(path=rel, digest=digest, size=path.stat().st_size))
            yield {"status": f"copying file {rel}", "digest": digest, "total": path.stat().st_size, "completed": path.stat().st_size}
        if not files:
            raise TSModelfileError(1, 6, f"FROM {mf.from_!r}: the directory holds no files", mf.from_)
        own = {k: v for k, v in mf.params.items() if k not in IDENTITY}
        canonical = TSModelfile(from_=str(root), params=dict(mf.params), license=mf.license, description=mf.description)
        manifest = Manifest(name=ref.full, model=entry.name, family=entry.family, files=files, license=mf.license or entry.license,
                            parameters=own, modelfile=render(canonical), created_at=utc_now())
        yield {"status": "writing manifest"}
        digest = self.models.store.put_manifest(ref, manifest)
        self.models.changed()
        yield {"status": "success", "digest": digest}

    def _entry_for(self, root: Path, mf: TSModelfile) -> RegistryEntry:
        reg = self.models.registry
        if "model" in mf.params:
            entry = reg.get(str(mf.params["model"]))
            if entry is None:
                raise TSModelfileError(_line(mf, "model"), 1, f"PARAM model {mf.params['model']!r} is not in the catalogue", mf.params["model"])
            return entry
        families = reg.manifests
        guess = families.detect(root)
        family = mf.params.get("family") or (guess[0] if guess else None)
        if family is None:
            raise TSModelfileError(1, 6, f"FROM {mf.from_!r}: cannot tell the family from its config.json; add `PARAM family <name>`", mf.from_)
        if family not in families:
            raise TSModelfileError(_line(mf, "family"), 1, f"PARAM family {family!r} is not a known family; expected one of {', '.join(families.names())}", family)
        name = guess[1] if guess and guess[0] == family else families.default_model(str(family))
        entry = reg.get(name) if name else None
        if entry is None:
            raise InvalidValue(f"no catalogue model for family {family!r}; add `PARAM model <name>`", path="modelfile", value=family)
        return entry


def _no_combine(mf: TSModelfile) -> None:
    if "combine" in mf.params:
        raise TSModelfileError(_line(mf, "combine"), 1, "PARAM combine applies only to an ENSEMBLE model (or one created FROM an ensemble)", mf.params["combine"])


def _ensemble_line(mf: TSModelfile) -> int:
    return mf.lines.get("ENSEMBLE", 1)


def _is_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~"))
