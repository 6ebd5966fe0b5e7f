"""Bootstrap resamples drawn as counts per category of identical records, and percentile
intervals over them.

Every statistic a decision uses depends on the records only through their outcome rows (a
candidate's and a baseline's scores, a label). A resample of n records drawn with replacement
is then fully described by how many draws land in each category of identical rows, and those
counts are multinomial(n, category counts / n): drawing them directly has exactly the
distribution of drawing records, at a cost per category instead of per record. Accuracy-type
outcomes have a handful of categories, so 2,000 resamples of 100,000 records take milliseconds.
When almost every record is its own category (continuous scores such as absolute errors),
drawing record indices and counting them is cheaper, and that is done instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np

# A multinomial draw costs about one binomial per category, several times the cost of drawing
# one record index (benchmarks/decision_statistics.py measures both paths): past one category
# per INDEX_PATH_RATIO records, drawing indices is the cheaper way to the same distribution.
INDEX_PATH_RATIO = 8
# At most this many resamples x categories (or x records) are held at once: 32 MB of float64.
BLOCK_CELLS = 4_000_000


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible generator per (request seed, stream name): the whole eval
    split and each slice draw from their own stream, so adding a slice changes no other."""
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), key])))


def resample_counts(
    counts: np.ndarray, resamples: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Blocks (b x k, float64) of how many of n draws land in each of the k categories, for
    `resamples` bootstrap resamples in all; `counts` is each category's number of records."""
    counts = np.asarray(counts, dtype=np.int64)
    n, k = int(counts.sum()), len(counts)
    if n == 0 or k == 0:
        return
    if k * INDEX_PATH_RATIO <= n:
        block = max(1, BLOCK_CELLS // k)
        p = counts / n
        for start in range(0, resamples, block):
            b = min(block, resamples - start)
            yield rng.multinomial(n, p, size=b).astype(np.float64)
        return
    block = max(1, BLOCK_CELLS // n)
    category = np.repeat(np.arange(k, dtype=np.int64), counts)
    for start in range(0, resamples, block):
        b = min(block, resamples - start)
        drawn = category[rng.integers(0, n, size=(b, n))]
        drawn += (np.arange(b, dtype=np.int64) * k)[:, None]
        yield np.bincount(drawn.ravel(), minlength=b * k).reshape(b, k).astype(np.float64)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` share of the resampled values: the (1 - c)/2 and (1 + c)/2
    quantiles (linear interpolation between order statistics)."""
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(np.asarray(values, dtype=np.float64), [tail, 1.0 - tail])
    return float(lo), float(hi)
