"""One MLflow run per retrain: opened at start, one batched write per step, closed with the outcome.

Tracking never decides anything: when the tracking store fails, the retrain goes on, the
failure is appended to the run's audit log (while the run directory is still staged) and later
steps stop calling MLflow for this retrain instead of paying the same timeout again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from verifily.rundir.audit import append_audit
from verifily.tags import (
    MLFLOW_ATTESTATION_DIGEST,
    MLFLOW_BASELINE,
    MLFLOW_DAGSTER_RUN_ID,
    MLFLOW_DATASET_HASH,
    MLFLOW_DECISION,
    MLFLOW_ERROR,
    MLFLOW_MODEL_ID,
    MLFLOW_PROMOTION,
    MLFLOW_REASONS,
    MLFLOW_RUN_DIR,
    MLFLOW_SIGNED_BY,
    MLFLOW_TRIGGER,
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


def start_tracking(
    settings: TrackingSettings, state: dict, *, dagster_run_id: str | None, trigger: str
) -> dict:
    """Open the retrain's MLflow run; log params, tags and the dataset input. Returns its info."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, Param

    client = mlflow_client(settings)
    exp_id = experiment_id(client, settings)
    req, ds = state["request"], state["dataset"]
    run = client.create_run(
        exp_id,
        run_name=Path(state["final_dir"]).name,
        tags={
            MLFLOW_DAGSTER_RUN_ID: dagster_run_id or "",
            MLFLOW_TRIGGER: trigger,
            MLFLOW_MODEL_ID: req["project_id"],
            MLFLOW_RUN_DIR: state["final_dir"],
            MLFLOW_DATASET_HASH: ds["dataset_hash"],
            MLFLOW_DECISION: "pending",
        },
    )
    run_id = run.info.run_id
    client.log_batch(run_id, params=[Param(k, v) for k, v in run_params(state).items()])
    dataset = Dataset(
        name=Path(ds["path"]).parent.name or "dataset",
        digest=ds["dataset_hash"][:DIGEST_CHARS],
        source_type="local",
        source=json.dumps({"uri": ds["path"]}),
        profile=json.dumps(
            {
                "dataset_hash": ds["dataset_hash"],
                "record_count": ds["record_count"],
                "split_counts": ds.get("split_counts", {}),
            },
            sort_keys=True,
        ),
    )
    client.log_inputs(
        run_id, [DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])]
    )
    return {
        "run_id": run_id,
        "experiment_id": exp_id,
        "tracking_uri": settings.tracking_uri,
        "url": run_url(settings, exp_id, run_id),
        "open_with": how_to_open(settings),
        "error": None,
    }


def log_step(
    settings: TrackingSettings,
    run_id: str,
    *,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """One `log_batch` for everything a step has to say."""
    from mlflow.entities import Metric, RunTag

    now = int(time.time() * 1000)
    mlflow_client(settings).log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in sorted((metrics or {}).items())],
        tags=[RunTag(k, str(v)) for k, v in sorted((tags or {}).items())],
    )


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


def tracked(state: dict) -> str | None:
    """The retrain's MLflow run id, or None when tracking is off or has failed."""
    info = state.get("mlflow") or {}
    return None if info.get("error") else info.get("run_id")


def guard(state: dict, step: str, fn: Callable[[], object]) -> tuple[dict, str | None]:
    """Run one tracking call; on failure record it and switch tracking off for this retrain.

    Returns (state, warning). The failure is appended to the staged run's audit log, so it
    is sealed into the run directory's contract.
    """
    try:
        fn()
        return state, None
    except Exception as e:  # any store, network or server error: tracking must not decide
        msg = f"MLflow tracking failed at {step}: {type(e).__name__}: {str(e)[:500]}"
        staging = state.get("staging_dir")
        if staging and Path(staging).is_dir():
            info = state.get("mlflow") or {}
            append_audit(
                staging,
                "tracking_failed",
                step=step,
                error=msg,
                tracking_uri=info.get("tracking_uri"),
                mlflow_run_id=info.get("run_id"),
            )
        return {**state, "mlflow": {**(state.get("mlflow") or {}), "error": msg}}, msg


def open_retrain_run(
    settings: TrackingSettings, state: dict, *, dagster_run_id: str | None, trigger: str
) -> tuple[dict, str | None]:
    """Start tracking for a retrain; (state with state["mlflow"], warning or None)."""
    if not settings.enabled:
        append_audit(state["staging_dir"], "tracking_disabled")
        return {**state, "mlflow": {"run_id": None, "error": None, "enabled": False}}, None
    state = {**state, "mlflow": {"run_id": None, "tracking_uri": settings.tracking_uri}}
    opened: dict = {}

    def go() -> None:
        opened.update(
            start_tracking(settings, state, dagster_run_id=dagster_run_id, trigger=trigger)
        )

    state, warning = guard(state, "start", go)
    if warning is None:
        state = {**state, "mlflow": opened}
        append_audit(
            state["staging_dir"],
            "tracking_started",
            mlflow_run_id=opened["run_id"],
            experiment_id=opened["experiment_id"],
            tracking_uri=settings.tracking_uri,
        )
    return state, warning


def log_evaluation(settings: TrackingSettings, state: dict) -> tuple[dict, str | None]:
    """Every eval metric, in one batch."""
    run_id = tracked(state)
    if run_id is None:
        return state, None
    metrics = state["eval_results"]["metrics"]
    return guard(state, "evaluate", lambda: log_step(settings, run_id, metrics=metrics))


def log_decision(settings: TrackingSettings, state: dict) -> tuple[dict, str | None]:
    """The deltas against the baseline and the decision, in one batch (before sealing)."""
    run_id = tracked(state)
    if run_id is None:
        return state, None
    d = state["decision"]
    base = d.get("baseline") or {}
    tags = {
        MLFLOW_DECISION: d["recommendation"],
        MLFLOW_BASELINE: str(base.get("source") or "none"),
        MLFLOW_REASONS: "; ".join(f["message"] for f in d["rules_fired"])[:5000],
    }
    metrics = {f"delta_{k}": v for k, v in d["deltas"].items()}
    return guard(state, "decide", lambda: log_step(settings, run_id, metrics=metrics, tags=tags))


def log_attestation(
    settings: TrackingSettings, state: dict, digest: str, keyid: str
) -> tuple[dict, str | None]:
    """The signed attestation's digest and signer as run tags (after publishing): an anchor
    outside the run directory that a rewrite of it cannot reach."""
    run_id = tracked(state)
    if run_id is None:
        return state, None
    tags = {MLFLOW_ATTESTATION_DIGEST: digest, MLFLOW_SIGNED_BY: keyid}
    return guard(state, "attest", lambda: log_step(settings, run_id, tags=tags))


def log_run_dir(settings: TrackingSettings, run_id: str, run_dir: str) -> None:
    """Upload the run directory under `run_dir/`, files in parallel.

    Through a server every file is its own HTTP request; done one after another they were
    most of MLflow's added time per retrain.
    """
    client = mlflow_client(settings)
    root = Path(run_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file())

    def upload(p: Path) -> None:
        rel = p.relative_to(root).parent
        client.log_artifact(run_id, str(p), artifact_path=str(Path("run_dir") / rel))

    if not files:
        return
    upload(files[0])  # resolves and caches the run's artifact repository once
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, files[1:]))


def finish_retrain(settings: TrackingSettings, run_id: str, run_dir: str, promotion: dict) -> None:
    """Log the published run directory as artifacts, the promotion as tags, and close FINISHED."""
    log_run_dir(settings, run_id, run_dir)
    moved = promotion.get("moved")
    log_step(
        settings,
        run_id,
        tags={
            MLFLOW_PROMOTION: (
                f"{promotion['alias']} -> v{promotion['version']}"
                if moved
                else f"none: {promotion.get('reason', '')}"
            ),
            MLFLOW_RUN_DIR: run_dir,
        },
    )
    end_run(settings, run_id, "FINISHED")
