"""Context trimming and the covariates each Chronos kind can use.

Chronos (T5) and Chronos-Bolt are univariate and take no covariates. Chronos-2 takes
past-only and known-future covariates (numeric and categorical) and multivariate targets;
it has no static covariates. The catalogue entries say so, and the gateway drops
(``covariates_mode=best_effort``) or refuses (``strict``) what they exclude before a worker
sees the batch; a covariate that still reaches the adapter and cannot be used is refused
(``tollama_kit.notes.refuse_unusable``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tollama_kit.adapter import SeriesInput
from tollama_kit.errors import BadInput
from tollama_kit.notes import refuse_unusable


KIND_LABELS = {"t5": "Chronos (T5)", "bolt": "Chronos-Bolt", "chronos2": "Chronos-2"}


@dataclass
class Prepared:
    """One series ready for a runner: the trimmed target and the covariates the model will use."""

    id: str
    target: np.ndarray  # (n_targets, n) float32, n <= context length
    past: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n,)
    future_past: dict[str, np.ndarray] = field(default_factory=dict)  # known-future covariates' history, (n,)
    future: dict[str, np.ndarray] = field(default_factory=dict)  # known-future covariates' horizon, (H,)

    @property
    def n_targets(self) -> int:
        return int(self.target.shape[0])


def is_categorical(values: np.ndarray) -> bool:
    return values.dtype == object or values.dtype.kind in "USO"


def prepare(
    series: list[SeriesInput], *, horizon: int, context_length: int, kind: str, model: str
) -> tuple[list[Prepared], list[str]]:
    """Trim every series to the last ``context_length`` points and take the covariates the kind uses."""
    label = f"{model} ({KIND_LABELS[kind]})"
    uses = {
        "past": kind == "chronos2",
        "future": kind == "chronos2",
        "static": False,
    }
    out: list[Prepared] = []
    split_multivariate = []
    for s in series:
        target = np.asarray(s.target, dtype=np.float32)
        if target.ndim != 2 or target.shape[1] < 1:
            raise BadInput(f"series {s.id!r}: target must have shape (n_targets, length >= 1), got {target.shape}")
        length = target.shape[1]
        start = max(0, length - context_length)
        target = target[:, start:]
        observed = np.isfinite(target).any(axis=1)
        if not observed.all():
            rows = [int(i) for i in np.flatnonzero(~observed)]
            raise BadInput(
                f"series {s.id!r}: target row(s) {rows} have no observed value in the last {target.shape[1]} points"
            )
        prepared = Prepared(id=s.id, target=target)
        overlap = set(s.past_covariates) & set(s.future_covariates)
        if overlap:
            raise BadInput(
                f"series {s.id!r}: covariates {sorted(overlap)} are given both as past and as future covariates"
            )
        for group, values in (
            ("past", s.past_covariates),
            ("future", s.future_covariates),
            ("static", s.static_covariates),
        ):
            if not values:
                continue
            if not uses[group]:
                refuse_unusable("chronos", f"{label} (series {s.id!r})", f"{group} covariates", list(values))
            for name, raw in values.items():
                arr = np.asarray(raw)
                if not is_categorical(arr):
                    arr = arr.astype(np.float32)
                if group == "past":
                    if arr.shape != (length,):
                        raise BadInput(
                            f"series {s.id!r}: past covariate {name!r} needs {length} values, got {arr.shape}"
                        )
                    prepared.past[name] = arr[start:]
                else:
                    if arr.shape != (length + horizon,):
                        raise BadInput(
                            f"series {s.id!r}: future covariate {name!r} needs {length + horizon} values "
                            f"(history and horizon), got {arr.shape}"
                        )
                    prepared.future_past[name] = arr[start:length]
                    prepared.future[name] = arr[length:]
        if prepared.n_targets > 1 and kind != "chronos2":
            split_multivariate.append(s.id)
        out.append(prepared)

    warnings = []
    if split_multivariate:
        warnings.append(
            f"{label} is univariate: the target variates of series {split_multivariate} were forecast independently"
        )
    return out, warnings
