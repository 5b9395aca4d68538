"""Request options and per-series input preparation for the Toto 2.0 adapter (numpy only, no torch).

=====================  =====  ===========  ==================================================
name                   type   default      meaning
=====================  =====  ===========  ==================================================
context_length         int    4096         use at most the last N points of each series
decode_block_size      int    0            steps decoded per pass (a multiple of the patch
                                           size; 0 = the whole horizon in one pass, the
                                           library's default); smaller blocks feed the median
                                           back between passes
=====================  =====  ===========  ==================================================

Toto 2.0 reads one ``(variates, time)`` panel per series whose length is a whole number of
patches. The adapter cuts the context, fills gaps with the library's own forward fill (the gaps
stay masked, so the model does not read them) and pads the front with masked zeros up to the next
patch boundary. toto-2 2.0.0 states that exogenous-variable support is planned for a later
release, so its models declare no covariates: the gateway drops or refuses them, and any that still
reach the worker are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tollama_kit.adapter import Options, SeriesInput
from tollama_kit.errors import BadInput
from tollama_kit.notes import Notes, refuse_unusable
from tollama_kit.options import parse_options

from tollama_toto2.options import MAX_CONTEXT, Toto2WireOptions

FAMILY = "toto2"
MAX_HORIZON = 1024


@dataclass(frozen=True)
class Toto2Options:
    context_length: int
    decode_block_size: int

    @classmethod
    def parse(cls, options: Options, patch_size: int) -> Toto2Options:
        wire = parse_options(options, Toto2WireOptions)
        if wire.decode_block_size % patch_size:
            raise BadInput(f"option 'decode_block_size' must be a multiple of the patch size {patch_size}, got {wire.decode_block_size}")
        return cls(context_length=wire.context_length, decode_block_size=wire.decode_block_size)


@dataclass(frozen=True)
class Prepared:
    """One series as Toto 2.0 takes it: ``values`` and ``observed`` ``(variates, whole patches)``."""

    values: np.ndarray
    observed: np.ndarray

    @property
    def shape_key(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))


def prepare(series: SeriesInput, opts: Toto2Options, patch_size: int, notes: Notes, fill: object) -> Prepared:
    """Cut the context, forward-fill gaps with ``fill`` (the library's imputation), pad to whole patches.

    ``fill`` is ``toto2.model.ffill_imputation``, passed in so this module needs no torch.
    """
    # toto-2 2.0.0 takes no covariates (its release notes plan them for a later version)
    for kind, names in (("past", series.past_covariates), ("future", series.future_covariates), ("static", series.static_covariates)):
        refuse_unusable(FAMILY, "Toto 2.0", f"{kind} covariates", list(names))
    length = series.length
    context = min(length, opts.context_length, MAX_CONTEXT)
    if opts.context_length > MAX_CONTEXT and length > MAX_CONTEXT:
        notes.add(f"{FAMILY}: context_length {opts.context_length} exceeds the adapter's {MAX_CONTEXT}; used {MAX_CONTEXT}")
    target = np.ascontiguousarray(series.target[:, length - context :], dtype=np.float32)
    observed = np.isfinite(target)
    if not observed.any(axis=1).all():
        row = int(np.flatnonzero(~observed.any(axis=1))[0])
        raise BadInput(f"series {series.id!r}: target row {row} has no observed value in the context")
    filled = fill(np.where(observed, target, np.nan).astype(np.float32))  # type: ignore[operator]
    pad = math.ceil(context / patch_size) * patch_size - context
    return Prepared(
        values=np.pad(np.asarray(filled, dtype=np.float32), ((0, 0), (pad, 0))),
        observed=np.pad(observed, ((0, 0), (pad, 0))),
    )
