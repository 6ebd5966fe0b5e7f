"""Monitors: when a project's gates all pass and its decision is SHIP, retrain (if allowed)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from verifily.config.files import load_yaml_file
from verifily.errors import InputError
from verifily.model_ids import check_model_id

GATES = ("contamination_gate", "run_contract")
MONITORS_CONFIG_ENV = "VERIFILY_MONITORS_CONFIG"
DEFAULT_MONITORS_CONFIG = Path("config") / "monitors.yaml"


@dataclass(frozen=True)
class MonitorConfig:
    """One monitor over one project's latest decision and gate results."""

    monitor_id: str
    project_id: str
    config_path: str | None = None
    allow_retrain: bool = False
    retrain_dataset_dir: str | None = None


@dataclass(frozen=True)
class MonitorOutcome:
    """What a monitor concluded about one decision: retrain or not, and every reason."""

    retrain: bool
    reasons: list[str] = field(default_factory=list)


def sensor_key(monitor_id: str) -> str:
    """The monitor's id as a Dagster name: '.' and '-' become '_'."""
    return re.sub(r"\W", "_", monitor_id)


def evaluate_monitor(
    monitor: MonitorConfig, recommendation: str | None, gates: dict[str, bool | None]
) -> MonitorOutcome:
    """Retrain only on SHIP with every gate passed and allow_retrain set; say why not otherwise.

    A gate with no recorded result (None) counts as not passed: a missing check is not a pass.
    """
    reasons = []
    if recommendation != "SHIP":
        reasons.append(f"decision is {recommendation or 'missing'}, not SHIP")
    for name in GATES:
        state = gates.get(name)
        if state is None:
            reasons.append(f"gate {name} has no result for this decision")
        elif not state:
            reasons.append(f"gate {name} failed")
    if not reasons and not monitor.allow_retrain:
        reasons.append("all gates pass but allow_retrain is false")
    if not reasons and not monitor.retrain_dataset_dir:
        reasons.append("all gates pass but retrain_dataset_dir is not set")
    return MonitorOutcome(retrain=not reasons, reasons=reasons or ["all gates pass, decision SHIP"])


def load_monitors(path: str | os.PathLike) -> list[MonitorConfig]:
    """Monitors from YAML (`monitors: [...]`); relative paths are relative to the file."""
    p = Path(path)
    raw = load_yaml_file(p, "monitors config")
    items = raw.get("monitors") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise InputError(f"{p}: expected a mapping with a 'monitors' list")
    base = p.resolve().parent
    allowed = {"monitor_id", "project_id", "config_path", "allow_retrain", "retrain_dataset_dir"}
    out, seen = [], set()
    for i, m in enumerate(items):
        where = f"{p}: monitors[{i}]"
        if not isinstance(m, dict):
            raise InputError(f"{where} must be a mapping")
        unknown = sorted(set(m) - allowed)
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}")
        # A monitor's id names its sensor; its project id is a model id: one rule for both.
        for key in ("monitor_id", "project_id"):
            check_model_id(m.get(key), f"{where}.{key}")
        # The sensor is named after the id, and sensor names allow only [A-Za-z0-9_].
        key = sensor_key(m["monitor_id"])
        if key in seen:
            raise InputError(
                f"{where}: monitor_id {m['monitor_id']!r} is listed twice (or differs from "
                "another only in '.', '-' or '_')"
            )
        seen.add(key)
        if not isinstance(m.get("allow_retrain", False), bool):
            raise InputError(f"{where}.allow_retrain must be true or false")

        def resolved(key: str, m: dict = m) -> str | None:
            v = m.get(key)
            return str((base / v).resolve()) if v else None

        out.append(
            MonitorConfig(
                monitor_id=m["monitor_id"],
                project_id=m["project_id"],
                config_path=resolved("config_path"),
                allow_retrain=m.get("allow_retrain", False),
                retrain_dataset_dir=resolved("retrain_dataset_dir"),
            )
        )
    return out


def configured_monitors() -> list[MonitorConfig]:
    """$VERIFILY_MONITORS_CONFIG (must exist), else config/monitors.yaml if present, else none."""
    named = os.environ.get(MONITORS_CONFIG_ENV)
    if named:
        return load_monitors(named)
    return load_monitors(DEFAULT_MONITORS_CONFIG) if DEFAULT_MONITORS_CONFIG.is_file() else []
