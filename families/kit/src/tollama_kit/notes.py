"""Warnings an adapter collects over one forecast call, and the drop-or-refuse step for inputs a
model cannot take.

The gateway decides covariate policy (``covariates_mode``) before a worker sees a batch: under
``best_effort`` it drops what the model's capabilities exclude, with a warning, and under
``strict`` it refuses the request. What still reaches an adapter and cannot be used (a worker
called directly, a capability entry wider than the adapter) goes through :func:`drop_unusable`.
"""

from __future__ import annotations

from collections.abc import Iterable

from tollama_kit.errors import Unsupported


class Notes:
    """Warnings collected over one forecast call, each reported once, in first-seen order."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, text: str) -> None:
        self._seen.setdefault(text, None)

    def extend(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(text)

    @property
    def items(self) -> list[str]:
        return list(self._seen)


def drop_unusable(family: str, model: str, kind: str, names: Iterable[str], *, strict: bool, notes: Notes) -> None:
    """Inputs ``names`` of ``kind`` (e.g. ``"static covariates"``) that ``model`` cannot use:
    refused with :class:`Unsupported` when ``strict``, else ignored with one warning."""
    found = sorted(names)
    if not found:
        return
    message = f"{family}: {kind} {found} cannot be used by {model}"
    if strict:
        raise Unsupported(message + " (covariates_mode=strict)")
    notes.add(message + "; they were ignored")
