"""Ensembles: a model that combines installed models (a TSModelfile's ``ENSEMBLE`` line).

An ensemble's manifest has no files: its ``parameters`` hold ``members`` (installed names, as
``name:tag``), ``combine`` (``median`` or ``mean``) and the parameters every member gets. Its
capabilities are what every member can do (the smallest maximum horizon, the longest minimum
history, a feature only when all members have it). A forecast is one forecast per member
through the ordinary forecast path, combined per series, per step, per quantile level (and the
point forecast the same way) by :func:`combine`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tollama.errors import ModelNotFound
from tollama.registry import Capabilities, RegistryEntry
from tollama.schema import SeriesForecast
from tollama.store import Manifest

ENSEMBLE = "ensemble"
"""The ``family`` (and ``model``) of an ensemble's manifest."""
OWN = ("members", "combine")
"""Parameters of the ensemble itself; every other parameter applies to each member."""
RULES = ("median", "mean")


def is_ensemble(m: Manifest) -> bool:
    return m.family == ENSEMBLE


def members(m: Manifest) -> list[str]:
    return [str(name) for name in m.parameters.get("members", [])]


def rule(params: dict[str, Any]) -> str:
    return str(params.get("combine", "median"))


def shared(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters an ensemble passes to each member."""
    return {k: v for k, v in params.items() if k not in OWN}


def missing(ensemble: str, member: str, exc: ModelNotFound) -> ModelNotFound:
    return ModelNotFound(f"ensemble {ensemble!r}: its member {member!r} is not installed ({exc.message}); "
                         f"pull it again or recreate the ensemble", model=member)


def entry(name: str, m: Manifest, entries: list[RegistryEntry]) -> RegistryEntry:
    """A registry entry for the ensemble ``name``: what every member can do."""
    caps = [e.capabilities for e in entries]
    combined = Capabilities(
        max_context=max(c.max_context for c in caps), max_horizon=min(c.max_horizon for c in caps),
        min_context=max(c.min_context for c in caps), sampling=any(c.sampling for c in caps),
        multivariate=all(c.multivariate for c in caps), past_covariates=all(c.past_covariates for c in caps),
        future_covariates=all(c.future_covariates for c in caps), static_covariates=all(c.static_covariates for c in caps),
        categorical_covariates=all(c.categorical_covariates for c in caps), missing_values=all(c.missing_values for c in caps),
    )
    return RegistryEntry(
        name=name, family=ENSEMBLE, description=f"{rule(m.parameters)} of {', '.join(members(m))}",
        license=m.license or "; ".join(sorted({e.license for e in entries})), capabilities=combined,
        builtin=all(e.builtin for e in entries),
    )


def combine(how: str, names: list[str], answers: list[list[SeriesForecast]]) -> list[SeriesForecast]:
    """Per series, step and level: the median (or mean) of the members' forecasts; ``answers[k]`` is member k's."""
    reduce = np.median if how == "median" else np.mean
    out = []
    for parts in zip(*answers, strict=True):
        first = parts[0]
        mean = reduce(np.array([p.mean for p in parts], dtype=float), axis=0)
        quantiles = {lv: reduce(np.array([p.quantiles[lv] for p in parts], dtype=float), axis=0).tolist() for lv in first.quantiles}
        out.append(SeriesForecast(id=first.id, mean=mean.tolist(), quantiles=quantiles, timestamps=first.timestamps, members=list(names)))
    return out
