"""Metrics of a sample given as counts per category of identical outcome rows, vectorised over
resamples: each takes `w` (b x k: how many records of each category a resample holds) and the
categories' values, and returns the metric of every resample (b,).

They reproduce `verifily.training.metrics` exactly on the observed sample (w = the counts).
"""

from __future__ import annotations

import numpy as np


def weighted_mean(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The mean of a per-record value (accuracy, exact match, token F1, absolute error)."""
    return (w @ values) / w.sum(axis=1)


def weighted_root_mean(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The square root of a per-record value's mean (RMSE from squared errors)."""
    return np.sqrt(weighted_mean(w, values))


def class_sums(w: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """(b x n_classes): the weight of each class code among the categories (-1: none)."""
    out = np.zeros((w.shape[0], n_classes))
    keep = np.flatnonzero(codes >= 0)
    if keep.size == 0:
        return out
    order = keep[np.argsort(codes[keep], kind="stable")]
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    out[:, ordered[starts]] = np.add.reduceat(w[:, order], starts, axis=1)
    return out


def weighted_macro_f1(w: np.ndarray, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Macro-F1: per class 2TP / (predicted + true), averaged over the classes present in the
    resample's outputs or predictions (`truth`, `pred`: integer class codes per category)."""
    n_classes = int(max(truth.max(initial=-1), pred.max(initial=-1))) + 1
    tp = class_sums(w, np.where(truth == pred, truth, -1), n_classes)
    denom = class_sums(w, pred, n_classes) + class_sums(w, truth, n_classes)
    present = denom > 0
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(denom), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)
