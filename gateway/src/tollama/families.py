"""The model families this gateway knows, from their manifests (:mod:`tollama_kit.manifest`).

Each family folder declares itself once (``[tool.tollama]`` in its pyproject, the generated
``options.json``); this module reads those files as data — it never imports family code — and
answers what the gateway asks of a family: its name, which options it honours, its default model,
its capability defaults, and which family a checkpoint directory's ``config.json`` belongs to.
The folders searched are ``TOLLAMA_FAMILIES_DIR`` then ``TOLLAMA_FAMILIES_DIRS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tollama_kit.manifest import DetectRule, Manifest, ManifestError, discover

__all__ = ["Families", "ManifestError"]


class Families:
    def __init__(self, manifests: Mapping[str, Manifest]) -> None:
        self._manifests = dict(manifests)
        rules = [(m.name, r) for m in self._manifests.values() for r in m.detect]
        # Exact rules (a key's value, a set of keys) before substring rules, each group by family name.
        self._rules: list[tuple[str, DetectRule]] = sorted(rules, key=lambda fr: (not fr[1].exact, fr[0]))

    @classmethod
    def load(cls, dirs: Iterable[Path]) -> Families:
        """Every family under ``dirs``; a malformed manifest is a :class:`ManifestError` naming the file."""
        return cls(discover(dirs))

    def __contains__(self, family: object) -> bool:
        return family in self._manifests

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self._manifests.values())

    def names(self) -> list[str]:
        return sorted(self._manifests)

    def get(self, family: str) -> Manifest | None:
        return self._manifests.get(family)

    def honours(self, family: str, option: str) -> bool:
        """Whether ``family``'s options Struct declares ``option`` (an unknown family honours none)."""
        manifest = self._manifests.get(family)
        return manifest is not None and option in manifest.option_names

    def capability_defaults(self, family: str) -> dict[str, Any]:
        manifest = self._manifests.get(family)
        return dict(manifest.capabilities) if manifest is not None else {}

    def default_model(self, family: str) -> str | None:
        manifest = self._manifests.get(family)
        return manifest.default_model if manifest is not None else None

    def detect(self, checkpoint: Path) -> tuple[str, str | None] | None:
        """``(family, catalogue model or None for the family's default)`` for the checkpoint directory
        whose ``config.json`` a family's rules recognise; ``None`` when none does (or it has no config)."""
        try:
            config = json.loads((checkpoint / "config.json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(config, dict):
            return None
        for family, rule in self._rules:
            if rule.matches(config):
                return family, rule.model or self.default_model(family)
        return None
