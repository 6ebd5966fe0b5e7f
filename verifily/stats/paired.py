"""Every metric's delta between two models scored on the same records, with a paired bootstrap
interval, the candidate's own interval, and McNemar's exact test for right/wrong metrics.

Each record is one row of outcomes (the candidate's columns and the baseline's). A bootstrap
resample draws n records with replacement, the SAME records for both models, so what the two
share (hard records, easy records) cancels out of the delta; only where they differ remains.
Without a re-scored baseline (`baseline_fixed`) the baseline is a recorded number and only the
candidate's sampling noise is in the interval.
"""

from __future__ import annotations

import numpy as np

from verifily.stats.bootstrap import percentile_interval, resample_counts
from verifily.stats.estimators import weighted_macro_f1, weighted_mean, weighted_root_mean
from verifily.stats.mcnemar import mcnemar_exact

Spec = tuple[str, tuple[str, ...]]


def _estimate(w: np.ndarray, spec: Spec, cats: dict[str, np.ndarray]) -> np.ndarray:
    estimator, cols = spec
    if estimator == "mean":
        return weighted_mean(w, cats[cols[0]])
    if estimator == "root_mean":
        return weighted_root_mean(w, cats[cols[0]])
    if estimator == "macro_f1":
        return weighted_macro_f1(w, cats[cols[0]].astype(np.int64), cats[cols[1]].astype(np.int64))
    raise ValueError(f"unknown estimator {estimator!r}")


def _r(x: float) -> float:
    return round(float(x), 6)


def compare(
    candidate: dict[str, np.ndarray],
    metrics: dict[str, Spec],
    *,
    baseline: dict[str, np.ndarray] | None = None,
    baseline_fixed: dict[str, float] | None = None,
    binary: frozenset[str] = frozenset(),
    resamples: int,
    confidence: float,
    rng: np.random.Generator,
) -> dict[str, dict]:
    """Per metric: `candidate`, `candidate_interval`, and against a baseline `baseline`,
    `delta` and `interval` (of the delta); with a re-scored baseline (per-record `baseline`
    columns, same records in the same order) a `mcnemar` entry for metrics over a `binary`
    column. Values are rounded to 6 places so the record is byte-stable."""
    names = sorted(set(candidate) | set(baseline or {}))
    columns = [("c", k) for k in sorted(candidate)] + [("b", k) for k in sorted(baseline or {})]
    table = np.column_stack(
        [
            (candidate if side == "c" else baseline or {})[k].astype(np.float64)
            for side, k in columns
        ]
    )
    rows, counts = np.unique(table, axis=0, return_counts=True)
    cats = {f"{side}:{k}": rows[:, j] for j, (side, k) in enumerate(columns)}
    side_c = {k: cats[f"c:{k}"] for k in names if f"c:{k}" in cats}
    side_b = {k: cats[f"b:{k}"] for k in names if f"b:{k}" in cats}
    observed = counts[None, :].astype(np.float64)
    out: dict[str, dict] = {}
    usable = {m: s for m, s in metrics.items() if all(c in side_c for c in s[1])}
    paired = baseline is not None and all(all(c in side_b for c in s[1]) for s in usable.values())
    cand_draws: dict[str, list[np.ndarray]] = {m: [] for m in usable}
    delta_draws: dict[str, list[np.ndarray]] = {m: [] for m in usable}
    for w in resample_counts(counts, resamples, rng):
        for m, spec in usable.items():
            c = _estimate(w, spec, side_c)
            cand_draws[m].append(c)
            if paired:
                delta_draws[m].append(c - _estimate(w, spec, side_b))
    for m, spec in usable.items():
        c_hat = float(_estimate(observed, spec, side_c)[0])
        draws = np.concatenate(cand_draws[m])
        entry: dict = {
            "candidate": _r(c_hat),
            "candidate_interval": [_r(v) for v in percentile_interval(draws, confidence)],
        }
        if paired:
            b_hat = float(_estimate(observed, spec, side_b)[0])
            entry["baseline"] = _r(b_hat)
            entry["delta"] = _r(c_hat - b_hat)
            lo, hi = percentile_interval(np.concatenate(delta_draws[m]), confidence)
            entry["interval"] = [_r(lo), _r(hi)]
            col = spec[1][0]
            if spec[0] == "mean" and col in binary and baseline is not None:
                only_c = int(np.sum((candidate[col] == 1) & (baseline[col] == 0)))
                only_b = int(np.sum((candidate[col] == 0) & (baseline[col] == 1)))
                entry["mcnemar"] = {
                    "candidate_only_right": only_c,
                    "baseline_only_right": only_b,
                    "p_value": _r(mcnemar_exact(only_c, only_b)),
                }
        elif baseline_fixed is not None and isinstance(baseline_fixed.get(m), int | float):
            b = float(baseline_fixed[m])
            lo, hi = entry["candidate_interval"]
            entry["baseline"] = _r(b)
            entry["delta"] = _r(c_hat - b)
            entry["interval"] = [_r(lo - b), _r(hi - b)]
        out[m] = entry
    return out
