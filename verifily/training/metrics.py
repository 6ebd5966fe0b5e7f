"""Metrics Verifily computes from a model's predictions on the evaluation split.

Every family reports `exact_match` and `f1` in [0, 1] so the decision rules can compare any
model; each adds its own figures. The definitions are also in the README.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

DEFAULT_ABS_TOL = 1e-6
DEFAULT_REL_TOL = 0.01
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: Any) -> str:
    """SQuAD normalisation: lower case, drop punctuation and articles, collapse whitespace."""
    s = str(text).lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def token_f1(prediction: Any, truth: Any) -> float:
    """SQuAD token F1 of the normalised strings; two empty answers agree, one empty scores 0."""
    pred = normalize_answer(prediction).split()
    gold = normalize_answer(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def text_metrics(predictions: Sequence[Any], truths: Sequence[Any]) -> dict[str, float]:
    """Free text: mean normalised exact match and mean token F1 (SQuAD v1.1 definitions)."""
    n = _same_length(predictions, truths)
    em = sum(
        normalize_answer(p) == normalize_answer(t) for p, t in zip(predictions, truths, strict=True)
    )
    f1 = sum(token_f1(p, t) for p, t in zip(predictions, truths, strict=True))
    return {"exact_match": _r(em / n), "f1": _r(f1 / n)}


def class_metrics(predictions: Sequence[Any], truths: Sequence[Any]) -> dict[str, float]:
    """Classes: accuracy (= exact_match) and macro-F1 (= f1) over the classes seen in truth.

    Macro-F1 averages per-class F1 over every class that occurs in the true labels or the
    predictions, so a model that ignores a rare class pays for it; a class with no true and
    no predicted member does not exist here. Labels compare by value (1 and "1" differ).
    """
    n = _same_length(predictions, truths)
    keys_p = [label_key(p) for p in predictions]
    keys_t = [label_key(t) for t in truths]
    correct = sum(p == t for p, t in zip(keys_p, keys_t, strict=True))
    tp: Counter = Counter()
    pred_count = Counter(keys_p)
    true_count = Counter(keys_t)
    for p, t in zip(keys_p, keys_t, strict=True):
        if p == t:
            tp[t] += 1
    f1s = []
    for label in set(pred_count) | set(true_count):
        denom = pred_count[label] + true_count[label]
        f1s.append(2 * tp[label] / denom if denom else 0.0)
    accuracy = correct / n
    macro = sum(f1s) / len(f1s)
    return {
        "exact_match": _r(accuracy),
        "f1": _r(macro),
        "accuracy": _r(accuracy),
        "macro_f1": _r(macro),
    }


def numeric_metrics(
    predictions: Sequence[Any],
    truths: Sequence[Any],
    *,
    abs_tol: float = DEFAULT_ABS_TOL,
    rel_tol: float = DEFAULT_REL_TOL,
) -> dict[str, float]:
    """Numbers: share within tolerance (exact_match, also reported as f1), MAE and RMSE.

    A prediction p matches the truth t when |p - t| <= max(abs_tol, rel_tol * |t|), the rule of
    `math.isclose` with the tolerance taken from the truth only. A number has no tokens to
    overlap, so f1 equals exact_match. A prediction that is not a finite number never matches
    and is rejected, so MAE and RMSE stay honest.
    """
    n = _same_length(predictions, truths)
    within = 0
    abs_sum = sq_sum = 0.0
    for i, (p, t) in enumerate(zip(predictions, truths, strict=True)):
        pv, tv = as_number(p, f"prediction {i}"), as_number(t, f"truth {i}")
        err = abs(pv - tv)
        within += err <= max(abs_tol, rel_tol * abs(tv))
        abs_sum += err
        sq_sum += err * err
    em = within / n
    return {
        "exact_match": _r(em),
        "f1": _r(em),
        "mae": _r(abs_sum / n),
        "rmse": _r(math.sqrt(sq_sum / n)),
    }


def compute_metrics(
    kind: str, predictions: Sequence[Any], truths: Sequence[Any], **tol: float
) -> dict:
    """The metric family for an output kind: 'classes', 'numeric' or 'text'."""
    if kind == "classes":
        return class_metrics(predictions, truths)
    if kind == "numeric":
        return numeric_metrics(predictions, truths, **tol)
    if kind == "text":
        return text_metrics(predictions, truths)
    raise ValueError(f"unknown output kind {kind!r}")


def _same_length(predictions: Sequence[Any], truths: Sequence[Any]) -> int:
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} predictions for {len(truths)} records")
    if not truths:
        raise ValueError("no records to score: the evaluation split is empty")
    return len(truths)


def label_key(v: Any) -> tuple[str, Any]:
    """A label as compared: its JSON value (1, "1" and true are three different labels)."""
    # bool is an int in Python; keep True and 1 apart as they are different JSON values.
    return (type(v).__name__ if isinstance(v, bool | str) else "number", v)


def as_number(v: Any, what: str) -> float:
    """A finite float, or ValueError naming `what` is not one."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{what} is not a number: {v!r}") from None
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{what} is not a finite number: {v!r}")
    return v


def _r(x: float) -> float:
    return round(float(x), 6)
