"""Per-record outcomes behind every metric, so two models scored on the same records can be
compared record by record (the paired bootstrap in verifily.stats.paired).

Each output kind's metrics are written as estimators over per-record columns: a mean of a
per-record value (`mean`), the square root of one (`root_mean`), or macro-F1 over class codes
(`macro_f1`). On the full split they reproduce `verifily.training.metrics` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from verifily.training.metrics import (
    DEFAULT_ABS_TOL,
    DEFAULT_REL_TOL,
    as_number,
    label_key,
    normalize_answer,
    token_f1,
)

# metric -> (estimator, columns it reads). `binary` columns are right/wrong per record.
METRICS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "classes": {
        "exact_match": ("mean", ("correct",)),
        "accuracy": ("mean", ("correct",)),
        "f1": ("macro_f1", ("truth", "pred")),
        "macro_f1": ("macro_f1", ("truth", "pred")),
    },
    "text": {"exact_match": ("mean", ("em",)), "f1": ("mean", ("f1",))},
    "numeric": {
        "exact_match": ("mean", ("within",)),
        "f1": ("mean", ("within",)),
        "mae": ("mean", ("abs_err",)),
        "rmse": ("root_mean", ("sq_err",)),
    },
}
BINARY_COLUMNS = frozenset({"correct", "em", "within"})
# Both sides' predictions on the candidate's eval split, one canonical JSON line per record.
PREDICTIONS_FILE = "eval/predictions.jsonl"
BASELINE_PREDICTIONS_FILE = "eval/baseline_predictions.jsonl"


def record_columns(
    kind: str,
    predictions: Sequence[Any],
    truths: Sequence[Any],
    codes: dict | None = None,
    *,
    abs_tol: float = DEFAULT_ABS_TOL,
    rel_tol: float = DEFAULT_REL_TOL,
) -> dict[str, np.ndarray]:
    """The per-record columns of `kind`'s metrics. `codes` maps labels to class codes and is
    shared (and extended) between the two models compared, so their codes agree."""
    if kind == "classes":
        codes = {} if codes is None else codes
        t = np.array([codes.setdefault(label_key(v), len(codes)) for v in truths])
        p = np.array([codes.setdefault(label_key(v), len(codes)) for v in predictions])
        return {"truth": t, "pred": p, "correct": (t == p).astype(np.float64)}
    if kind == "text":
        pairs = list(zip(predictions, truths, strict=True))
        em = [normalize_answer(p) == normalize_answer(t) for p, t in pairs]
        f1 = [token_f1(p, t) for p, t in pairs]
        return {"em": np.array(em, dtype=np.float64), "f1": np.array(f1, dtype=np.float64)}
    if kind == "numeric":
        pv = np.array([as_number(p, f"prediction {i}") for i, p in enumerate(predictions)])
        tv = np.array([as_number(t, f"truth {i}") for i, t in enumerate(truths)])
        err = np.abs(pv - tv)
        within = err <= np.maximum(abs_tol, rel_tol * np.abs(tv))
        return {"within": within.astype(np.float64), "abs_err": err, "sq_err": err * err}
    raise ValueError(f"unknown output kind {kind!r}")
