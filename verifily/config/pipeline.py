"""Decision thresholds, from a pipeline config YAML file or the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path

import yaml

from verifily.config.files import load_yaml_file
from verifily.errors import InputError

SLICE_OUTCOMES = ("investigate", "dont_ship")
# Fewer resamples make the interval's ends themselves noisy; more only cost time.
MIN_RESAMPLES, MAX_RESAMPLES = 100, 100_000
# Keys of a pipeline config that are not thresholds: who must approve (approval_policy.py).
APPROVAL_KEYS = ("require_approval", "approval_ttl_hours")


@dataclass(frozen=True)
class Thresholds:
    """The numbers the decision rules compare against."""

    primary_metric: str = "f1"
    min_metric: float = 0.5
    regression_tolerance: float = 0.01
    investigate_band: float = 0.02
    max_contamination: float = 0.0
    # The paired bootstrap behind every interval (verifily.stats.bootstrap).
    confidence: float = 0.95
    resamples: int = 2000
    # A slice whose delta interval lies wholly below -slice_tolerance regressed.
    slice_tolerance: float = 0.01
    slice_regression: str = "investigate"

    def to_dict(self) -> dict:
        return asdict(self)


def default_pipeline_yaml() -> str:
    """The embedded default pipeline config, as shipped."""
    return resources.files("verifily.config").joinpath("defaults/pipeline.yaml").read_text()


def load_thresholds(
    path: str | os.PathLike | None = None, *, metric: str | None = None
) -> Thresholds:
    """Thresholds from a YAML file (or the embedded defaults); `metric` overrides the primary one.

    Unknown keys and wrong types are errors naming the key, so a typo never silently
    falls back to a default.
    """
    if path is None:
        raw = yaml.safe_load(default_pipeline_yaml())
        where = "embedded defaults"
    else:
        where = str(Path(path))
        raw = load_yaml_file(path, "pipeline config")
    raw = raw or {}
    if not isinstance(raw, dict):
        raise InputError(f"{where}: pipeline config must be a mapping")
    raw = raw.get("thresholds", raw) if isinstance(raw.get("thresholds"), dict) else raw
    # The `training:` section belongs to verifily.training.choice (trainer choice per model),
    # `slices:` to verifily.config.slices, the approval keys to verifily.config.approval_policy.
    raw = {k: v for k, v in raw.items() if k not in ("training", "slices", *APPROVAL_KEYS)}
    known = {f.name: f for f in fields(Thresholds)}
    values: dict = {}
    for key, value in raw.items():
        if key not in known:
            raise InputError(f"{where}: unknown key {key!r}; known: {', '.join(known)}")
        if key == "primary_metric":
            if not isinstance(value, str) or not value:
                raise InputError(f"{where}: primary_metric must be a metric name")
        elif key == "slice_regression":
            if value not in SLICE_OUTCOMES:
                raise InputError(
                    f"{where}: slice_regression must be {' or '.join(SLICE_OUTCOMES)}, "
                    f"got {value!r}"
                )
        elif key == "resamples":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{where}: resamples must be an integer, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{where}: {key} must be a number, got {value!r}")
        values[key] = value
    if metric:
        values["primary_metric"] = metric
    t = Thresholds(**values)
    for key in ("min_metric", "max_contamination"):
        if not 0 <= getattr(t, key) <= 1:
            raise InputError(f"{where}: {key} must be within [0, 1]")
    if t.regression_tolerance < 0 or t.investigate_band < 0 or t.slice_tolerance < 0:
        raise InputError(f"{where}: tolerances must not be negative")
    if not 0.5 <= t.confidence < 1:
        raise InputError(f"{where}: confidence must be within [0.5, 1), got {t.confidence!r}")
    if not MIN_RESAMPLES <= t.resamples <= MAX_RESAMPLES:
        raise InputError(
            f"{where}: resamples must be within [{MIN_RESAMPLES}, {MAX_RESAMPLES}], "
            f"got {t.resamples!r}"
        )
    return t
