"""The retrain request: its fields, defaults and validation (shared by CLI, API and assets)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from verifily.config.pipeline import load_thresholds
from verifily.dataset.artifact import DATASET_FILE, HASHES_FILE
from verifily.errors import InputError
from verifily.model_ids import check_model_id
from verifily.modes import MODES, check_real_mode_enabled
from verifily.rundir.outputs import check_output_dir


@dataclass(frozen=True)
class RetrainRequest:
    """What a caller asks for; every default is filled in and recorded in `config.yaml`."""

    dataset_dir: str
    output_dir: str = "runs"
    project_id: str = "default"
    base_run_dir: str | None = None
    contaminated_run_dir: str | None = None
    mode: str = "mock"
    seed: int = 42
    metric: str = "f1"
    notes: str = ""
    pipeline_config: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> RetrainRequest:
        """Build from a mapping, rejecting unknown fields by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InputError(f"unknown retrain request field(s): {', '.join(unknown)}")
        if not raw.get("dataset_dir"):
            raise InputError("dataset_dir is required")
        return cls(**{k: v for k, v in raw.items() if v is not None})


def check_request(req: RetrainRequest) -> None:
    """Reject a request that cannot run, before anything is written: its fields, the model id
    rule, the real-mode gate, and where it would write (never into an input or a sealed run)."""
    if req.mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {req.mode!r}")
    if isinstance(req.seed, bool) or not isinstance(req.seed, int) or req.seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {req.seed!r}")
    if not req.metric:
        raise InputError("metric must name an evaluation metric")
    check_model_id(req.project_id, "project_id")
    if req.mode == "real":
        check_real_mode_enabled()
    check_output_dir(
        req.output_dir,
        {
            "dataset_dir": req.dataset_dir,
            "base_run_dir": req.base_run_dir,
            "contaminated_run_dir": req.contaminated_run_dir,
        },
    )


def preflight(req: RetrainRequest) -> None:
    """Everything a retrain can be refused for without reading its data: the request itself,
    its dataset's two files being there, and its pipeline config. Entry points call it before
    they create a Dagster run, so bad input is one line and no run, not a failed run. What only
    a full read finds (a malformed record, a hash mismatch) is the run's own steps' to report;
    a missing baseline is not refused either: the decision says INVESTIGATE for it."""
    check_request(req)
    d = Path(req.dataset_dir)
    if not d.is_dir():
        raise InputError(f"{d}: dataset directory does not exist")
    for name in (DATASET_FILE, HASHES_FILE):
        if not (d / name).is_file():
            raise InputError(
                f"{d / name}: missing (an artifact needs {DATASET_FILE} and {HASHES_FILE})"
            )
    load_thresholds(req.pipeline_config, metric=req.metric)
