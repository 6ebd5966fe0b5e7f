"""Other runs a decision refers to: the baseline it compares with, read only when its contract
holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from verifily.rundir.contract import validate_run_contract


def load_baseline(base_run_dir: str | os.PathLike) -> tuple[dict | None, str | None]:
    """(baseline metrics, None) or (None, why it cannot be used)."""
    d = Path(base_run_dir)
    if not d.is_dir():
        return None, f"baseline run directory {d} does not exist"
    problems = validate_run_contract(d)
    if problems:
        return None, f"baseline run {d} fails its run contract: {problems[0]}" + (
            f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        )
    try:
        metrics = json.loads((d / "eval" / "eval_results.json").read_text())["metrics"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"baseline eval results in {d} are unreadable: {e}"
    return metrics, None
