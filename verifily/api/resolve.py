"""Turn an HTTP retrain request into retrain fields whose every path is checked and resolved."""

from __future__ import annotations

from pathlib import Path

from verifily.api.paths import safe_path
from verifily.config.files import load_yaml_file
from verifily.config.models import configured_models
from verifily.errors import InputError
from verifily.retrain.request import RetrainRequest, check_request

PATH_FIELDS = ("dataset_dir", "output_dir", "base_run_dir", "contaminated_run_dir")


def resolve_request(fields: dict, roots: list[Path], default_output: Path) -> dict:
    """Fields for run_retrain: paths resolved inside `roots`, defaults filled, mode checked.

    Raises PathRejected/PathOutsideRoots (400/403), InputError (400) or
    NotImplementedModeError (501) before anything is read or written.
    """
    out = dict(fields)
    resolved: dict[str, Path | None] = {}
    for name in PATH_FIELDS:
        raw = out.get(name)
        if raw is None and name != "dataset_dir":
            resolved[name] = None
            continue
        resolved[name] = safe_path(raw, roots, name)
    if resolved["output_dir"] is None:
        resolved["output_dir"] = default_output
    out.update({k: str(v) if v is not None else None for k, v in resolved.items()})
    # The core's own checks (mode, seed, metric, model id, the real-mode gate, and the output
    # directory rule the CLI applies too), before anything is queued or run.
    check_request(RetrainRequest.from_dict(out))
    return out


def load_model_sources(models_file: str | None) -> dict[str, dict]:
    """Model id -> retrain request fields for the models that name a `dataset_dir`.

    From the one models file (VERIFILY_MODELS_CONFIG, else config/models.yaml). `models_file`
    is the deprecated VERIFILY_MODELS_FILE (a `models: {id: {dataset_dir: ...}}` mapping),
    still read for one release when it is set.
    """
    if models_file:
        return _legacy_model_sources(models_file)
    return {m.model_id: m.request_fields() for m in configured_models().models if m.dataset_dir}


def _legacy_model_sources(models_file: str) -> dict[str, dict]:
    raw = load_yaml_file(models_file, "models file")
    models = raw.get("models") if isinstance(raw, dict) else None
    if not isinstance(models, dict):
        raise InputError(f"models file {models_file} needs a `models:` mapping")
    return {str(k): dict(v or {}) for k, v in models.items()}
