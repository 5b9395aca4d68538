"""statsforecast's interval quantiles, memoised: the same numbers without freezing a scipy distribution per call.

statsforecast turns interval levels into the error distribution's quantiles with
``statsforecast.utils._quantiles(level, distribution, dist_params)``, which freezes a new scipy
distribution on every call; scipy rebuilds the distribution (its docstring, its argument parsers) for
each freeze. That is ~0.9 ms of the ~1 ms a naive forecast of 512 points with one interval level costs,
and the same on every forecast of the four baselines (docs/adr/0009-baseline-quantile-memo.md).

The quantiles depend only on their arguments, so :func:`install` wraps that one function in a bounded
memo and puts the wrapper wherever statsforecast's modules hold it (they import it by name). Every
number is still the library's own: a miss calls the original, a hit returns a copy of what it returned.
Arguments that cannot be a key (unhashable parameters) go straight to the original. If a statsforecast
release changes the function's signature, :func:`install` leaves everything as it is.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

#: Where statsforecast (2.x) holds ``_quantiles``: defined in ``utils``, imported by name by the others.
MODULES = ("statsforecast.utils", "statsforecast.distributions", "statsforecast.models", "statsforecast.arima")
_SIGNATURE = ["level", "distribution", "dist_params"]
#: Distinct (levels, distribution, parameters) kept; a request asks for a handful.
MAX_ENTRIES = 256

_installed: tuple[Callable[..., Any], Callable[..., Any]] | None = None  # (original, wrapper)


def _memoised(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.lru_cache(maxsize=MAX_ENTRIES)
    def cached(levels: tuple[float, ...], shape: tuple[int, ...], distribution: str, params: tuple[tuple[str, Any], ...] | None) -> np.ndarray:
        z = np.asarray(original(np.asarray(levels).reshape(shape), distribution=distribution,
                                dist_params=dict(params) if params is not None else None))
        z.setflags(write=False)
        return z

    @functools.wraps(original)
    def _quantiles(level: Any, distribution: str = "normal", dist_params: dict[str, Any] | None = None) -> np.ndarray:
        a = np.asarray(level)
        key = (tuple(a.ravel().tolist()), a.shape, distribution, tuple(sorted(dist_params.items())) if dist_params else None)
        try:
            hash(key)
        except TypeError:  # an unhashable argument: no key, the library's own call
            return original(level, distribution=distribution, dist_params=dist_params)  # type: ignore[no-any-return]
        return cached(*key).copy()

    _quantiles.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return _quantiles


def install() -> bool:
    """Put the memoised ``_quantiles`` in statsforecast's modules; False (nothing changed) if the
    function is missing or its signature is not the one this wraps. Idempotent."""
    global _installed
    if _installed is not None:
        return True
    utils = importlib.import_module(MODULES[0])
    original = getattr(utils, "_quantiles", None)
    if original is None or list(inspect.signature(original).parameters) != _SIGNATURE:
        return False
    wrapper = _memoised(original)
    for name in MODULES:
        module = importlib.import_module(name)
        if getattr(module, "_quantiles", None) is original:
            module._quantiles = wrapper  # type: ignore[attr-defined]
    _installed = (original, wrapper)
    return True


def uninstall() -> None:
    """Put statsforecast's own ``_quantiles`` back (for tests that compare the two)."""
    global _installed
    if _installed is None:
        return
    original, wrapper = _installed
    for name in MODULES:
        module = importlib.import_module(name)
        if getattr(module, "_quantiles", None) is wrapper:
            module._quantiles = original  # type: ignore[attr-defined]
    _installed = None


def installed() -> bool:
    return _installed is not None
