"""Where a retrain may write: the one rule for an output directory, for the CLI, the API, the
sensors and the retrain itself.

Inputs are never written and a finished run is never written into: an output directory equal
to or inside an input (dataset, baseline run, contaminated run), or equal to or inside any
directory holding a `hashes.json` (a dataset artifact or a run directory, whose contract a new
file would break), or inside a run directory still being written, is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from verifily.errors import InputError
from verifily.rundir.layout import STAGING_PATTERN

CONTRACT_FILE = "hashes.json"


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _kind(d: Path) -> str:
    if (d / "dataset.jsonl").exists():
        return "a dataset artifact"
    if (d / "run_meta.json").exists() or (d / "audit_log.jsonl").exists():
        return "a finished run directory"
    return f"a directory with a {CONTRACT_FILE} (an artifact or a run directory)"


def check_output_dir(
    output_dir: str | os.PathLike, inputs: Mapping[str, str | os.PathLike | None]
) -> Path:
    """The resolved output directory, or an InputError saying which input or finished
    directory it would write into. `inputs` maps a field name to its path (None: not given)."""
    out = _real(output_dir)
    for field, path in inputs.items():
        if path is None:
            continue
        inp = _real(path)
        if out == inp or out.is_relative_to(inp):
            raise InputError(
                f"output_dir {out} is inside {field} ({inp}): inputs are never written"
            )
    for d in (out, *out.parents):
        if STAGING_PATTERN.match(d.name):
            raise InputError(f"output_dir {out} is inside {d}, a run directory being written")
        if (d / CONTRACT_FILE).is_file():
            where = "is" if d == out else f"is inside {d},"
            raise InputError(
                f"output_dir {out} {where} {_kind(d)}: a sealed directory is never written into"
            )
    return out
