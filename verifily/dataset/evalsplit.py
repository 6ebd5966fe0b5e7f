"""The evaluation split as both sides of a decision are scored on it: its records in file
order, its SHA-256 (so anyone sees whether two numbers came from the same test) and the field
values slices cut it by."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from verifily.dataset.artifact import iter_records
from verifily.hashing import canonical_json

# A slice value for records that lack the field (or hold a non-scalar there).
MISSING = "(missing)"


def eval_records(dataset_dir: str | os.PathLike) -> list[dict]:
    """The eval split's records, in file order (the order predictions are written in)."""
    return [r for r in iter_records(dataset_dir) if r["split"] == "eval"]


def split_sha256(records: list[dict]) -> str:
    """SHA-256 over the eval records' id, input and output, one canonical JSON line each, in
    order: equal exactly when both sides were scored on the same records."""
    h = hashlib.sha256()
    for r in records:
        h.update(canonical_json({k: r[k] for k in ("id", "input", "output") if k in r}) + b"\n")
    return h.hexdigest()


def field_value(record: dict, path: str) -> str:
    """The value at a dot path such as `meta.language`, as a slice label (JSON scalars as
    their JSON text, so 1 and "1" stay apart; absent or non-scalar: MISSING)."""
    v: Any = record
    for part in path.split("."):
        if not isinstance(v, dict) or part not in v:
            return MISSING
        v = v[part]
    if isinstance(v, str):
        return v
    if v is None or isinstance(v, dict | list):
        return MISSING
    return canonical_json(v).decode()
