"""Warnings an adapter collects over one forecast call, and the refusal of inputs a model cannot take.

Covariate policy lives in the gateway alone: its validation drops what a model's capabilities
exclude (``covariates_mode: best_effort``, with a warning) or refuses the request (``strict``)
before a worker sees the batch, and no worker reads ``covariates_mode``. What still reaches an
adapter and cannot be used (a worker called directly, a capability entry wider than the adapter)
is a batch the gateway did not validate for this model: :func:`refuse_unusable` answers it with
``Unsupported`` (422) naming the inputs, never a silent guess.
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


def refuse_unusable(family: str, model: str, kind: str, names: Iterable[str]) -> None:
    """Inputs ``names`` of ``kind`` (e.g. ``"static covariates"``) that ``model`` cannot use:
    :class:`Unsupported`, naming them (nothing when ``names`` is empty)."""
    found = sorted(names)
    if found:
        raise Unsupported(
            f"{family}: {kind} {found} cannot be used by {model}; the gateway drops or refuses them by the "
            "model's capabilities (options.covariates_mode), so a worker never receives them"
        )
