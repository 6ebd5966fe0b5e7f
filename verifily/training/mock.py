"""Mock-mode metrics: deterministic functions of the dataset hash and the seed."""

from __future__ import annotations

import hashlib

import numpy as np

from verifily.hashing import canonical_json

MOCK_FORMULA = (
    "h = sha256(f'{dataset_hash}:{seed}'); u_i = int(h[8i:8i+8]) / 2**64; "
    "f1 = 0.55 + 0.40 * u_0; exact_match = f1 * (0.60 + 0.35 * u_1); rounded to 6 places"
)


def mock_metrics(dataset_hash: str, seed: int) -> dict[str, float]:
    """f1 and exact_match in [0, 1], a pure function of (dataset_hash, seed).

    The formula (also in the README): h = sha256(f"{dataset_hash}:{seed}"), u_i is the i-th
    8-byte big-endian word of h divided by 2**64, f1 = 0.55 + 0.40 * u_0 and
    exact_match = f1 * (0.60 + 0.35 * u_1). exact_match <= f1 as on real QA data.
    """
    h = hashlib.sha256(f"{dataset_hash}:{seed}".encode()).digest()
    u0 = int.from_bytes(h[0:8], "big") / 2**64
    u1 = int.from_bytes(h[8:16], "big") / 2**64
    f1 = 0.55 + 0.40 * u0
    return {"f1": round(f1, 6), "exact_match": round(f1 * (0.60 + 0.35 * u1), 6)}


def mock_record_columns(metrics: dict, records: list[dict]) -> dict[str, np.ndarray]:
    """Per-record outcomes of a mock model with these aggregate `metrics` on `records` (the
    `text` kind's columns `em` and `f1`), deterministic and consistent with the aggregates.

    Records are ranked by sha256 of their input and output (the same rank for every mock
    model). The first k = round(exact_match * n) are exact matches with token F1 1; every
    other record gets token F1 (f1 * n - k) / (n - k), so the per-record F1 averages to f1
    exactly and the exact matches to within 1 / (2n) of exact_match. A better mock model gets
    right every record a worse one does, as if both learned the same easy records first.
    """
    n = len(records)
    rank = sorted(
        range(n),
        key=lambda i: hashlib.sha256(
            canonical_json([records[i].get("input"), records[i].get("output")])
        ).digest(),
    )
    k = min(n, max(0, round(float(metrics["exact_match"]) * n)))
    rest = (float(metrics["f1"]) * n - k) / (n - k) if n > k else 0.0
    em = np.zeros(n)
    em[rank[:k]] = 1.0
    f1 = np.where(em == 1.0, 1.0, min(1.0, max(0.0, rest)))
    return {"em": em, "f1": f1}
