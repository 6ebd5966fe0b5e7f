"""Helpers for feed tests: records and appends the way a producer writes them."""

import json
from pathlib import Path


def records(start: int, n: int, prefix: str = "r") -> list[dict]:
    """n valid records with distinct ids, numbered from `start`."""
    return [
        {"id": f"{prefix}{i}", "input": f"question {i}", "output": f"answer {i % 7}"}
        for i in range(start, start + n)
    ]


def append_jsonl(path: Path, recs: list[dict]) -> None:
    """Append complete lines (one write, like a producer flushing a batch)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(b"".join(json.dumps(r).encode() + b"\n" for r in recs))
