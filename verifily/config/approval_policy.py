"""Who must approve a decision before the champion moves: the pipeline config's
`require_approval` (every SHIP waits for a person too) and `approval_ttl_hours` (how long a
pending approval stays open). INVESTIGATE always opens an approval."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from verifily.config.files import load_yaml_file
from verifily.errors import InputError

DEFAULT_TTL_HOURS = 168.0


@dataclass(frozen=True)
class ApprovalPolicy:
    """The approval settings of one pipeline config."""

    require_approval: bool = False
    ttl_hours: float = DEFAULT_TTL_HOURS


def load_approval_policy(path: str | os.PathLike | None) -> ApprovalPolicy:
    """The policy of a pipeline config file (the defaults without one); wrong types are errors
    naming the key."""
    if path is None:
        return ApprovalPolicy()
    raw = load_yaml_file(path, "pipeline config")
    if not isinstance(raw, dict):
        raise InputError(f"{Path(path)}: pipeline config must be a mapping")
    require = raw.get("require_approval", False)
    if not isinstance(require, bool):
        raise InputError(f"{Path(path)}: require_approval must be true or false, got {require!r}")
    ttl = raw.get("approval_ttl_hours", DEFAULT_TTL_HOURS)
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < 1e6:
        raise InputError(
            f"{Path(path)}: approval_ttl_hours must be a positive number of hours, got {ttl!r}"
        )
    return ApprovalPolicy(require, float(ttl))


def run_policy(run_dir: str | os.PathLike) -> ApprovalPolicy:
    """The policy of the pipeline config a published run was made with (its config.yaml)."""
    config = yaml.safe_load((Path(run_dir) / "config.yaml").read_text()) or {}
    return load_approval_policy((config.get("request") or {}).get("pipeline_config"))
