"""Slices of the evaluation split to judge separately: the `slices:` pipeline config key.

```yaml
slices:
  - field: meta.language          # a dot path into each eval record
  - {field: meta.source, min_count: 30}
slice_tolerance: 0.01             # (thresholds) a slice's delta interval wholly below -this
slice_regression: investigate     # (thresholds) or dont_ship
```
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from verifily.config.files import load_yaml_file
from verifily.config.pipeline import default_pipeline_yaml
from verifily.errors import InputError

# Below this many records a slice's interval is too wide to judge: it is reported only.
DEFAULT_MIN_COUNT = 30
KEYS = ("field", "min_count")


@dataclass(frozen=True)
class SliceSpec:
    """One field whose values cut the eval split into slices."""

    field: str
    min_count: int = DEFAULT_MIN_COUNT

    def to_dict(self) -> dict:
        return asdict(self)


def load_slices(path: str | os.PathLike | None = None) -> list[SliceSpec]:
    """The slices a pipeline config names (none in the embedded defaults); an error naming
    the entry and key for anything malformed."""
    if path is None:
        raw, where = yaml.safe_load(default_pipeline_yaml()), "embedded defaults"
    else:
        raw, where = load_yaml_file(path, "pipeline config"), str(Path(path))
    if not isinstance(raw, dict):
        return []
    section = raw.get("thresholds")
    if not isinstance(section, dict):
        section = raw
    entries = section.get("slices", raw.get("slices")) or []
    return parse_slices(entries, where)


def parse_slices(entries: object, where: str) -> list[SliceSpec]:
    """SliceSpecs from the YAML value of `slices:` (a list of `{field, min_count}`)."""
    if not isinstance(entries, list):
        raise InputError(f"{where}: slices must be a list of {{field: ..., min_count: ...}}")
    specs: list[SliceSpec] = []
    for i, entry in enumerate(entries):
        at = f"{where}: slices[{i}]"
        if isinstance(entry, str):
            entry = {"field": entry}
        if not isinstance(entry, dict):
            raise InputError(f"{at} must be a mapping with a field, got {entry!r}")
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise InputError(f"{at}: unknown key {unknown[0]!r}; known: {', '.join(KEYS)}")
        field = entry.get("field")
        if not isinstance(field, str) or not field or any(not p for p in field.split(".")):
            raise InputError(f"{at}: field must be a dot path such as meta.language, got {field!r}")
        count = entry.get("min_count", DEFAULT_MIN_COUNT)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InputError(f"{at}: min_count must be a positive integer, got {count!r}")
        if any(s.field == field for s in specs):
            raise InputError(f"{at}: field {field!r} is named twice")
        specs.append(SliceSpec(field, count))
    return specs
