"""One MLflow run per retrain, as the outbox's drainer writes it: where the run lives, its
params, its link, uploading the run directory and closing it.

Nothing here runs inside a retrain: the retrain records its writes in the outbox
(verifily.tracking.record) and verifily.tracking.apply sends them.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from verifily.tags import (
    MLFLOW_ERROR,
)
from verifily.tracking.store import (
    DEFAULT_UI_URL,
    UI_URL_ENV,
    TrackingSettings,
    mlflow_client,
)

# MLflow stores dataset digests in a 36-character column (MAX_DATASET_DIGEST_SIZE); the full
# 64-hex dataset hash goes in the dataset profile and the `verifily.dataset_hash` tag.
DIGEST_CHARS = 36
# Files of one run directory uploaded at once.
UPLOADS_AT_ONCE = 4


def experiment_id(client, settings: TrackingSettings) -> str:
    """The experiment's id, creating it (with the configured artifact location) if missing."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(settings.experiment_name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(
            settings.experiment_name, artifact_location=settings.artifact_uri
        )
    except MlflowException as e:
        # Another retrain created it between our lookup and create.
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(settings.experiment_name).experiment_id


def ui_base(settings: TrackingSettings) -> str:
    """Where MLflow's UI for this store is: the tracking server itself, or for an embedded store
    the address `verifily mlflow` serves it at (VERIFILY_MLFLOW_UI_URL when it serves elsewhere)."""
    if settings.is_remote:
        return settings.tracking_uri.rstrip("/")
    return (os.environ.get(UI_URL_ENV) or DEFAULT_UI_URL).rstrip("/")


def run_url(settings: TrackingSettings, exp_id: str, run_id: str) -> str:
    """A link a browser opens: the run's page in MLflow's UI."""
    return f"{ui_base(settings)}/#/experiments/{exp_id}/runs/{run_id}"


def how_to_open(settings: TrackingSettings) -> str | None:
    """What a person must start before the link opens (None: a server already serves it)."""
    if settings.is_remote:
        return None
    return f"start `verifily mlflow` (MLflow's UI on {settings.tracking_uri}), then open the link"


def run_params(state: dict) -> dict[str, str]:
    """Parameters: what the retrain was asked to do, with which data and thresholds."""
    req, ds = state["request"], state["dataset"]
    params = {
        "seed": req["seed"],
        "mode": req["mode"],
        "model_id": req["project_id"],
        "project": req["project_id"],
        "metric": req["metric"],
        "data_window": describe_window(ds.get("window")) or f"all {ds['record_count']} records",
        "dataset_path": ds["path"],
        "record_count": ds["record_count"],
        "split_counts": json.dumps(ds.get("split_counts", {}), sort_keys=True),
        "base_run_dir": req.get("base_run_dir") or "",
        "pipeline_config": req.get("pipeline_config") or "embedded defaults",
    }
    params.update({f"threshold.{k}": v for k, v in state["thresholds"].items()})
    return {k: str(v) for k, v in params.items()}


def describe_window(window: dict | None) -> str | None:
    """A feed window in a line: its records and when they arrived."""
    if not window:
        return None
    span = " .. ".join(str(window.get(k)) for k in ("start", "end") if window.get(k))
    return f"records {window['first']}-{window['last']}" + (f" ({span})" if span else "")


def end_run(
    settings: TrackingSettings, run_id: str, status: str = "FINISHED", error: str | None = None
) -> None:
    """Close the run; a failure's message goes in the `verifily.error` tag first."""
    client = mlflow_client(settings)
    if error:
        client.set_tag(run_id, MLFLOW_ERROR, error[:5000])
    client.set_terminated(run_id, status)


def fail_if_running(settings: TrackingSettings, run_id: str, error: str) -> bool:
    """Mark a run FAILED unless it already ended; True when it was still open."""
    if mlflow_client(settings).get_run(run_id).info.status not in ("RUNNING", "SCHEDULED"):
        return False
    end_run(settings, run_id, "FAILED", error)
    return True


def log_run_dir(
    settings: TrackingSettings, run_id: str, run_dir: str, artifact_uri: str | None = None
) -> None:
    """Upload the run directory under `run_dir/`, files in parallel. `artifact_uri` is the
    run's artifact location when known (saves looking the run up).

    Through a server every file is its own HTTP request; done one after another they were
    most of MLflow's added time per retrain.
    """
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    where = artifact_uri or str(mlflow_client(settings).get_run(run_id).info.artifact_uri)
    repo = get_artifact_repository(where, tracking_uri=settings.tracking_uri)
    root = Path(run_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file())

    def upload(p: Path) -> None:
        repo.log_artifact(str(p), (Path("run_dir") / p.relative_to(root).parent).as_posix())

    with ThreadPoolExecutor(max_workers=UPLOADS_AT_ONCE) as pool:
        list(pool.map(upload, files))
