"""The numbers behind a decision's deltas: both sides' per-record outcomes on the candidate's
eval split, every metric's delta with its paired bootstrap interval, and the slices.

Real mode pairs eval/predictions.jsonl with eval/baseline_predictions.jsonl (the baseline's
model re-scored in the eval step). Mock mode pairs the per-record outcomes of the two mock
models (verifily.training.mock.mock_record_columns). Otherwise the baseline is its recorded
number and `why_not_rescored` says why.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from verifily.config.pipeline import Thresholds
from verifily.config.slices import SliceSpec
from verifily.dataset.evalsplit import eval_records, field_value, split_sha256
from verifily.stats.bootstrap import stream
from verifily.stats.paired import compare
from verifily.training.mock import mock_record_columns
from verifily.training.outcomes import (
    BASELINE_PREDICTIONS_FILE,
    BINARY_COLUMNS,
    METRICS,
    PREDICTIONS_FILE,
    record_columns,
)

# At most this many slices per field are computed (the largest); see `gather`.
MAX_SLICES = 200


def _read_predictions(path: Path) -> list:
    with open(path, "rb") as f:
        return [json.loads(line)["prediction"] for line in f if line.strip()]


def _recorded(run_dir: str | None) -> dict:
    try:
        return json.loads((Path(str(run_dir)) / "eval" / "eval_results.json").read_text())
    except (OSError, ValueError, TypeError):
        return {}


def gather(
    state: dict,
    thresholds: Thresholds,
    slices: list[SliceSpec],
    baseline: dict | None,
) -> dict:
    """The evidence record. `baseline`: {run_dir, attestation_digest, metrics} of the verified
    run the decision compares with (None: no baseline)."""
    results, req = state["eval_results"], state["request"]
    records = eval_records(state["dataset"]["path"])
    mode = results.get("mode", "mock")
    tol = results.get("numeric_tolerance") or {}
    tol_kw = {"abs_tol": tol["abs"], "rel_tol": tol["rel"]} if tol else {}
    staging = Path(state["staging_dir"])
    truths = [r["output"] for r in records]
    codes: dict = {}
    if mode == "real":
        kind = results["output_kind"]
        cand = record_columns(
            kind, _read_predictions(staging / PREDICTIONS_FILE), truths, codes, **tol_kw
        )
    else:
        kind, cand = "text", mock_record_columns(results["metrics"], records)
    base_cols, why = None, None
    recorded = _recorded(baseline["run_dir"]) if baseline else {}
    if baseline is None:
        why = "there is no baseline"
    elif mode == "real":
        rescore = state.get("rescore") or {}
        if not rescore:
            why = "the eval step found no baseline to re-score"
        elif not rescore.get("rescored"):
            why = str(rescore.get("why"))
        elif rescore.get("attestation_digest") != baseline.get("attestation_digest"):
            why = (
                f"the eval step re-scored {rescore.get('run_dir')}, but the baseline is now "
                f"{baseline.get('run_dir')} (the champion moved in between)"
            )
        else:
            base_cols = record_columns(
                kind,
                _read_predictions(staging / BASELINE_PREDICTIONS_FILE),
                truths,
                codes,
                **tol_kw,
            )
    elif recorded.get("mode") == "mock":
        base_cols = mock_record_columns(recorded["metrics"], records)
    else:
        why = "a mock candidate has no predictions to pair with a real baseline's"
    seed = int(req["seed"])
    options = {
        "binary": BINARY_COLUMNS,
        "resamples": thresholds.resamples,
        "confidence": thresholds.confidence,
    }
    fixed = None if base_cols is not None or baseline is None else baseline.get("metrics")
    metrics = compare(
        cand,
        METRICS[kind],
        baseline=base_cols,
        baseline_fixed=fixed,
        rng=stream(seed, "all"),
        **options,
    )
    if mode != "real":
        # Mock: the point values are the documented aggregates; the per-record outcomes (within
        # 1 / (2n) of them for exact_match) only give the intervals their width.
        _recorded_points(metrics, results["metrics"], (baseline or {}).get("metrics"))
    sha = split_sha256(records)
    evidence: dict = {
        "rescored": base_cols is not None,
        "why_not_rescored": None if base_cols is not None else why,
        "eval_split_sha256": {
            "candidate": sha,
            "baseline": sha if base_cols is not None else recorded.get("eval_split_sha256"),
        },
        "n_eval": len(records),
        "method": "paired bootstrap" if base_cols is not None else "bootstrap of the candidate",
        "resamples": thresholds.resamples,
        "confidence": thresholds.confidence,
        "seed": seed,
        "metrics": metrics,
        "slices": [],
    }
    m = thresholds.primary_metric
    if m not in METRICS[kind]:
        return evidence
    spec = {m: METRICS[kind][m]}
    for s in slices:
        labels = np.array([field_value(r, s.field) for r in records], dtype=object)
        sizes = Counter(labels.tolist())
        # A field with a value per record (an id) would cost a bootstrap per record: only the
        # largest MAX_SLICES values are reported, and how many were left out is recorded.
        kept = sorted(
            v for v, _ in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SLICES]
        )
        if len(sizes) > MAX_SLICES:
            evidence["slices_omitted"] = {
                **evidence.get("slices_omitted", {}),
                s.field: len(sizes) - MAX_SLICES,
            }
        for value in kept:
            idx = np.flatnonzero(labels == value)
            sub = compare(
                {k: v[idx] for k, v in cand.items()},
                spec,
                baseline=None if base_cols is None else {k: v[idx] for k, v in base_cols.items()},
                rng=stream(seed, f"slice:{s.field}={value}"),
                **options,
            )[m]
            evidence["slices"].append(
                {
                    "field": s.field,
                    "value": value,
                    "n": int(idx.size),
                    "min_count": s.min_count,
                    "judged": base_cols is not None and idx.size >= s.min_count,
                    **sub,
                }
            )
    return evidence


def _recorded_points(metrics: dict, candidate: dict, baseline: dict | None) -> None:
    for k, e in metrics.items():
        if k not in candidate:
            continue
        shift = float(candidate[k]) - e["candidate"]
        e["candidate"] = candidate[k]
        e["candidate_interval"] = [round(v + shift, 6) for v in e["candidate_interval"]]
        if baseline and k in baseline and "delta" in e:
            e["baseline"] = baseline[k]
            e["delta"] = round(float(candidate[k]) - float(baseline[k]), 6)
