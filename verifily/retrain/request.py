"""The retrain request: its fields, defaults and validation (shared by CLI, API and assets)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from verifily.errors import InputError
from verifily.modes import MODES, check_real_mode_enabled


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
    """Reject a request that cannot run, before anything is written."""
    if req.mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {req.mode!r}")
    if isinstance(req.seed, bool) or not isinstance(req.seed, int) or req.seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {req.seed!r}")
    if not req.metric:
        raise InputError("metric must name an evaluation metric")
    if not req.project_id:
        raise InputError("project_id must not be empty")
    if req.mode == "real":
        check_real_mode_enabled()
