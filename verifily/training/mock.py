"""Mock-mode metrics: deterministic functions of the dataset hash and the seed."""

from __future__ import annotations

import hashlib

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
