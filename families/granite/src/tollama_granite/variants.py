"""The TinyTimeMixer r2 variants tollama serves, and which one fits a request.

Each (context, horizon) pair of ``ibm-granite/granite-timeseries-ttm-r2`` is a separate
hub *revision* (``512-96-r2`` is ``main``). A loaded variant has a fixed context length
(shorter histories are zero-padded by the model, longer ones cut) and a fixed prediction
length (shorter horizons are the first steps of its forecast; longer ones are refused).

Registry names: ``granite-ttm-r2`` for ``main`` (512-96) and ``granite-ttm-r2-<ctx>-<h>``
for the others. The list matches granite-tsfm 0.3.11's own catalogue
(``tsfm_public/resources/model_paths_config/ttm.yaml``, release ``r2``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REPO = "ibm-granite/granite-timeseries-ttm-r2"
CONTEXTS = (512, 1024, 1536)
HORIZONS = (96, 192, 336, 720)
BASE_NAME = "granite-ttm-r2"


@dataclass(frozen=True)
class Variant:
    name: str
    context_length: int
    prediction_length: int

    @property
    def revision(self) -> str:
        if (self.context_length, self.prediction_length) == (512, 96):
            return "main"
        return f"{self.context_length}-{self.prediction_length}-r2"


def _name(context: int, horizon: int) -> str:
    return BASE_NAME if (context, horizon) == (512, 96) else f"{BASE_NAME}-{context}-{horizon}"


VARIANTS: dict[str, Variant] = {_name(c, h): Variant(_name(c, h), c, h) for c in CONTEXTS for h in HORIZONS}

_NAME = re.compile(rf"^{re.escape(BASE_NAME)}(?:-(\d+)-(\d+))?$")


def expected_shape(name: str) -> tuple[int, int] | None:
    """(context, prediction length) a registry name promises, or None for names we do not know."""
    match = _NAME.match(name)
    if match is None:
        return None
    if match.group(1) is None:
        return (512, 96)
    return (int(match.group(1)), int(match.group(2)))


def pick_variant(context: int, horizon: int) -> Variant | None:
    """The variant that should serve ``context`` points of history and ``horizon`` steps.

    granite-tsfm's own rule (``get_model``, prefer_longer_context): among the variants whose
    prediction length covers the horizon, take the longest context that the history fills
    completely, then the shortest prediction length. A history shorter than every context
    gets the shortest-context variant (zero-padded). None when the horizon exceeds 720.
    """
    fits = [v for v in VARIANTS.values() if v.prediction_length >= horizon]
    if not fits:
        return None
    filled = [v for v in fits if v.context_length <= context]
    pool = filled or [v for v in fits if v.context_length == min(x.context_length for x in fits)]
    return sorted(pool, key=lambda v: (-v.context_length, v.prediction_length))[0]
