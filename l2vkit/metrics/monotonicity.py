"""Monotonicity over a sweep: does more φ mean more change? Spearman's ρ per seed, averaged over the seeds where it
is defined."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def monotonicity(phis: Sequence[float], series) -> tuple[float, list[float]]:
    """Spearman's ρ between ``phis`` and each row of ``series`` (seeds × φ), and their mean over the seeds whose ρ is
    defined (``nan`` when none is): a constant row has no ranks to correlate and is left out.

    >>> mean, per_seed = monotonicity([0, 0.5, 1], [[0.1, 0.4, 0.9], [0.2, 0.2, 0.2]])
    >>> mean, per_seed[1] != per_seed[1]
    (1.0, True)
    """
    per_seed = [_spearman(phis, np.asarray(row, dtype=np.float64)) for row in series]
    defined = [v for v in per_seed if not math.isnan(v)]
    return (float(np.mean(defined)) if defined else float("nan")), per_seed


def _spearman(x: Sequence[float], y: np.ndarray) -> float:
    """Spearman's ρ, ``nan`` when either sequence is constant (no ranks to correlate) or has fewer than 2 points."""
    if len(x) < 2 or np.ptp(y) == 0 or np.ptp(np.asarray(x)) == 0:
        return float("nan")
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)
