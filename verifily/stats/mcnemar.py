"""McNemar's exact test for two models scored right/wrong on the same records."""

from __future__ import annotations

import math

import numpy as np


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact p-value of McNemar's test: `b` records only the candidate gets right,
    `c` only the baseline. Under "equally good" each of the b + c discordant records is a fair
    coin, so p = min(1, 2 * P(X <= min(b, c))) with X ~ Binomial(b + c, 1/2)."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    # log C(n, i) for i = 0..k as a running sum of log((n - i + 1) / i): no factorials, no
    # overflow, and no scipy import on the decision path.
    i = np.arange(1, k + 1, dtype=np.float64)
    log_terms = np.concatenate(([0.0], np.cumsum(np.log((n - i + 1) / i)))) - n * math.log(2)
    top = float(log_terms.max())
    tail = math.exp(top) * float(np.exp(log_terms - top).sum())
    return min(1.0, 2.0 * tail)
