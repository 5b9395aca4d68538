"""Rank models as fev's ``leaderboard`` does, with (series, window) pairs as its tasks.

``errors[task][model]`` is the ranking metric of one model on one series in one window (``None``
where it was not forecast). The win rate of a model is the mean, over the other models, of the
share of shared tasks it wins (ties count half; fev's ``_win_rate``); the skill is
``1 − gmean(clip(error / baseline error, 0.01, 100))`` over the tasks both scored (fev's
``_skill_score`` with its default clipping), when the baseline was evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_RELATIVE_ERROR, MAX_RELATIVE_ERROR = 1e-2, 100.0


def win_rates(errors: Sequence[Sequence[float | None]], n_models: int) -> list[float | None]:
    out: list[float | None] = []
    for a in range(n_models):
        shares = []
        for b in range(n_models):
            if a == b:
                continue
            pairs = [(x, y) for t in errors if (x := t[a]) is not None and (y := t[b]) is not None]
            if pairs:
                shares.append(sum(1.0 if x < y else 0.5 if x == y else 0.0 for x, y in pairs) / len(pairs))
        out.append(sum(shares) / len(shares) if shares else None)
    return out


def skills(errors: Sequence[Sequence[float | None]], n_models: int, baseline: int | None) -> list[float | None]:
    if baseline is None:
        return [None] * n_models
    out: list[float | None] = []
    for a in range(n_models):
        logs = []
        for t in errors:
            x, base = t[a], t[baseline]
            if x is None or base is None or base == 0:
                continue
            logs.append(math.log(min(max(x / base, MIN_RELATIVE_ERROR), MAX_RELATIVE_ERROR)))
        out.append(1 - math.exp(sum(logs) / len(logs)) if logs else None)
    return out


def ranks(scores: Sequence[float | None]) -> list[int]:
    """1 for the lowest score; models without a score come last (ties share the better rank)."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i] is None, scores[i] if scores[i] is not None else 0.0))
    out = [0] * len(scores)
    for pos, i in enumerate(order):
        prev = order[pos - 1] if pos else None
        out[i] = out[prev] if prev is not None and scores[prev] == scores[i] else pos + 1
    return out
