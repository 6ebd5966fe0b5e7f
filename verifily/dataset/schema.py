"""The record schema of `dataset.jsonl` and the deterministic train/eval split."""

from __future__ import annotations

import hashlib
import math
from typing import Any

from verifily.hashing import canonical_json

SPLITS = ("train", "eval")
DEFAULT_EVAL_FRACTION = 0.2
_KNOWN = {"input", "output", "id", "split", "meta"}


def record_problems(rec: Any) -> list[str]:
    """Every way a parsed record breaks the schema, as short phrases (empty when valid)."""
    if not isinstance(rec, dict):
        return [f"record must be a JSON object, got {type(rec).__name__}"]
    problems = []
    if "input" not in rec:
        problems.append("missing required field 'input'")
    elif not isinstance(rec["input"], str):
        problems.append(f"'input' must be a string, got {_json_type(rec['input'])}")
    if "output" not in rec:
        problems.append("missing required field 'output'")
    elif not isinstance(rec["output"], str | int | float | bool):
        problems.append(
            f"'output' must be a string, number or boolean, got {_json_type(rec['output'])}"
        )
    if "id" in rec and (isinstance(rec["id"], bool) or not isinstance(rec["id"], str | int)):
        problems.append(f"'id' must be a string or integer, got {_json_type(rec['id'])}")
    if "split" in rec and rec["split"] not in SPLITS:
        problems.append(f"'split' must be 'train' or 'eval', got {rec['split']!r}")
    if "meta" in rec and not isinstance(rec["meta"], dict):
        problems.append(f"'meta' must be an object, got {_json_type(rec['meta'])}")
    bad_number = _non_finite(rec)
    if bad_number is not None:
        # JSON has no NaN or infinity; written out they would make the artifact unreadable.
        where = _field_of(rec)
        problems.append(f"{bad_number!r} in field {where!r} is not a JSON number")
    return problems


def _non_finite(value: Any) -> float | None:
    """The first NaN or infinity anywhere in a parsed value (None when there is none)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return v
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _field_of(rec: dict) -> str:
    """The top-level field a non-finite number sits in."""
    for key, v in rec.items():
        if _non_finite(v) is not None:
            return key
    return "?"


def assign_split(rec: dict, eval_fraction: float = DEFAULT_EVAL_FRACTION) -> str:
    """Deterministic split for a record without one: a hash of its input and output.

    The first 8 bytes of SHA-256 as a fraction of 2**64; below `eval_fraction` means eval.
    The same record always lands in the same split, on every machine and in every run, and
    the id is deliberately left out: exact duplicates (Iris has one) always share a split
    instead of leaking from training into evaluation.
    """
    key = [rec.get("input"), rec.get("output")]
    digest = hashlib.sha256(b"verifily.split.v1\0" + canonical_json(key)).digest()
    return "eval" if int.from_bytes(digest[:8], "big") / 2**64 < eval_fraction else "train"


def effective_split(rec: dict, eval_fraction: float = DEFAULT_EVAL_FRACTION) -> str:
    """The record's own split if it has one, otherwise the deterministic assignment."""
    return rec.get("split") or assign_split(rec, eval_fraction)


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(v), type(v).__name__)
