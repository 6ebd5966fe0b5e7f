"""Which trainer a model uses and how its outputs are scored: the `training:` pipeline section.

```yaml
training:
  trainer: auto          # auto, text_classifier, regressor, retrieval or "pkg.module:function"
  output_kind: auto      # auto | classes | numeric | text  (which metric family scores it)
  numeric_abs_tol: 1.0e-6
  numeric_rel_tol: 0.01
  models:                # per model (the request's project_id): any of the keys above
    iris: {trainer: text_classifier}
```
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from verifily.config.files import load_yaml_file
from verifily.errors import InputError
from verifily.training.metrics import DEFAULT_ABS_TOL, DEFAULT_REL_TOL

KINDS = ("classes", "numeric", "text")
SECTION = "training"
# Outputs guessed as classes need few distinct values, each seen several times on average.
MAX_GUESSED_CLASSES = 1000
MIN_RECORDS_PER_CLASS = 5
MAX_INTEGER_CLASSES = 20


@dataclass(frozen=True)
class TrainingConfig:
    """The trainer and metric settings for one model."""

    trainer: str = "auto"
    output_kind: str = "auto"
    numeric_abs_tol: float = DEFAULT_ABS_TOL
    numeric_rel_tol: float = DEFAULT_REL_TOL

    def to_dict(self) -> dict:
        return asdict(self)


def load_training_config(
    path: str | os.PathLike | None, project_id: str = "default"
) -> TrainingConfig:
    """The `training:` section of a pipeline config, with the model's own overrides applied."""
    if path is None:
        return TrainingConfig()
    p = Path(path)
    raw = load_yaml_file(p, "pipeline config")
    section = raw.get(SECTION) if isinstance(raw, dict) else None
    if section is None:
        return TrainingConfig()
    where = f"{p}: {SECTION}"
    if not isinstance(section, dict):
        raise InputError(f"{where} must be a mapping")
    models = section.get("models") or {}
    if not isinstance(models, dict):
        raise InputError(f"{where}.models must map model ids to settings")
    cfg = _apply(TrainingConfig(), {k: v for k, v in section.items() if k != "models"}, where)
    own = models.get(project_id)
    if own is not None:
        if not isinstance(own, dict):
            raise InputError(f"{where}.models.{project_id} must be a mapping")
        cfg = _apply(cfg, own, f"{where}.models.{project_id}")
    return cfg


def _apply(cfg: TrainingConfig, raw: dict, where: str) -> TrainingConfig:
    known = {f.name for f in fields(TrainingConfig)}
    for key, value in raw.items():
        if key not in known:
            raise InputError(f"{where}: unknown key {key!r}; known: {', '.join(sorted(known))}")
        if key in ("trainer", "output_kind") and (not isinstance(value, str) or not value):
            raise InputError(f"{where}: {key} must be a non-empty string, got {value!r}")
        if key.startswith("numeric_") and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            raise InputError(f"{where}: {key} must be a non-negative number, got {value!r}")
    if raw.get("output_kind", "auto") not in ("auto", *KINDS):
        raise InputError(
            f"{where}: output_kind must be auto, {', '.join(KINDS)}; got {raw['output_kind']!r}"
        )
    return replace(cfg, **raw)


def guess_output_kind(outputs: list) -> tuple[str, str]:
    """Guess how outputs should be scored from the training outputs; returns (kind, why)."""
    distinct = {(type(o).__name__ if isinstance(o, bool | str) else "number", o) for o in outputs}
    n, k = len(outputs), len(distinct)
    if all(isinstance(o, bool) for o in outputs):
        return "classes", "every output is a boolean"
    if all(isinstance(o, int | float) and not isinstance(o, bool) for o in outputs):
        integral = all(float(o).is_integer() for o in outputs)
        if integral and k <= MAX_INTEGER_CLASSES and k * MIN_RECORDS_PER_CLASS <= n:
            return "classes", f"integer outputs with only {k} distinct values"
        return "numeric", f"numeric outputs with {k} distinct values"
    if k <= MAX_GUESSED_CLASSES and k * MIN_RECORDS_PER_CLASS <= n:
        return "classes", f"{k} distinct outputs over {n} training records"
    return "text", f"{k} distinct outputs over {n} training records: free text"
