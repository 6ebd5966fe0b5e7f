"""What a retrain writes to the tracking outbox, step by step; never MLflow itself.

Each function records one outbox row (one commit to the jobs database, a few milliseconds) and
returns (state, warning). Recording fails only when the jobs database does; then the failure is
appended to the staged run's audit log and tracking is off for the rest of that retrain, as it
was when MLflow itself was called from the steps. No MLflow import is anywhere on this path.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from verifily.rundir.audit import append_audit
from verifily.tags import (
    MLFLOW_ATTESTATION_DIGEST,
    MLFLOW_BASELINE,
    MLFLOW_DAGSTER_RUN_ID,
    MLFLOW_DATASET_HASH,
    MLFLOW_DECISION,
    MLFLOW_MODEL_ID,
    MLFLOW_PROMOTION,
    MLFLOW_REASONS,
    MLFLOW_RUN_DIR,
    MLFLOW_SIGNED_BY,
    MLFLOW_TRIGGER,
)
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.runs import run_params
from verifily.tracking.store import TrackingSettings

START, LOG, FINISH, FAIL, REGISTER, ALIAS = "start", "log", "finish", "fail", "register", "alias"


def target(settings: TrackingSettings) -> dict:
    """Where a row goes, as recorded with it."""
    return settings.to_dict()


def tracking_key(state: dict) -> str | None:
    """The outbox key of a retrain whose tracking is on and has not failed."""
    info = state.get("mlflow") or {}
    return None if info.get("error") or not info.get("enabled", True) else info.get("key")


def guard(state: dict, step: str, fn: Callable[[], object]) -> tuple[dict, str | None]:
    """Record one write; on failure note it in the staged run's audit log and switch tracking
    off for this retrain. Returns (state, warning)."""
    try:
        fn()
        return state, None
    except Exception as e:  # the jobs database failed: tracking must not decide
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
                tracking_key=info.get("key"),
            )
        return {**state, "mlflow": {**(state.get("mlflow") or {}), "error": msg}}, msg


def start_payload(state: dict, *, key: str, trigger: str) -> dict:
    """The MLflow run to open: its name, tags, params and dataset input."""
    req, ds = state["request"], state["dataset"]
    return {
        "run_name": Path(state["final_dir"]).name,
        "tags": {
            MLFLOW_DAGSTER_RUN_ID: key,
            MLFLOW_TRIGGER: trigger,
            MLFLOW_MODEL_ID: req["project_id"],
            MLFLOW_RUN_DIR: state["final_dir"],
            MLFLOW_DATASET_HASH: ds["dataset_hash"],
            MLFLOW_DECISION: "pending",
        },
        "params": run_params(state),
        "dataset": {
            "name": Path(ds["path"]).parent.name or "dataset",
            "path": ds["path"],
            "dataset_hash": ds["dataset_hash"],
            "record_count": ds["record_count"],
            "split_counts": ds.get("split_counts", {}),
        },
    }


def open_retrain_run(
    settings: TrackingSettings,
    state: dict,
    *,
    dagster_run_id: str | None,
    trigger: str,
    outbox: TrackingOutbox | None = None,
    mlflow_run_id: str | None = None,
    reservation: str | None = None,
) -> tuple[dict, str | None]:
    """Queue the retrain's MLflow run; (state with state["mlflow"], warning or None).

    `mlflow_run_id` is a run already opened when the retrain was requested (its step Jobs carry
    it), `reservation` the id it was reserved under (verifily.tracking.reserve); the drainer
    finds the run by these or by the Verifily run's id before it creates another.
    """
    if not settings.enabled:
        append_audit(state["staging_dir"], "tracking_disabled")
        return {**state, "mlflow": {"run_id": None, "error": None, "enabled": False}}, None
    key = dagster_run_id or uuid.uuid4().hex
    state = {
        **state,
        "mlflow": {
            "key": key,
            "run_id": mlflow_run_id,
            "tracking_uri": settings.tracking_uri,
            "error": None,
            "enabled": True,
        },
    }

    def go() -> None:
        payload = {
            **start_payload(state, key=key, trigger=trigger),
            "mlflow_run_id": mlflow_run_id,
            "reservation": reservation,
        }
        (outbox or TrackingOutbox()).record(key, START, payload, target(settings))

    state, warning = guard(state, "start", go)
    if warning is None:
        append_audit(
            state["staging_dir"],
            "tracking_queued",
            tracking_key=key,
            tracking_uri=settings.tracking_uri,
            **({"mlflow_run_id": mlflow_run_id} if mlflow_run_id else {}),
        )
    return state, warning


def _log(
    settings: TrackingSettings,
    state: dict,
    step: str,
    *,
    metrics: dict | None = None,
    tags: dict | None = None,
    outbox: TrackingOutbox | None = None,
) -> tuple[dict, str | None]:
    key = tracking_key(state)
    if key is None:
        return state, None
    payload = {
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "tags": {k: str(v) for k, v in (tags or {}).items()},
        # Fixed at record time: re-applying logs the very same metric points.
        "ts": int(time.time() * 1000),
    }
    return guard(
        state,
        step,
        lambda: (outbox or TrackingOutbox()).record(key, LOG, payload, target(settings)),
    )


def log_evaluation(
    settings: TrackingSettings, state: dict, outbox: TrackingOutbox | None = None
) -> tuple[dict, str | None]:
    """Every eval metric."""
    return _log(
        settings, state, "evaluate", metrics=state["eval_results"]["metrics"], outbox=outbox
    )


def log_decision(
    settings: TrackingSettings, state: dict, outbox: TrackingOutbox | None = None
) -> tuple[dict, str | None]:
    """The deltas against the baseline and the decision."""
    d = state["decision"]
    base = d.get("baseline") or {}
    tags = {
        MLFLOW_DECISION: d["recommendation"],
        MLFLOW_BASELINE: str(base.get("source") or "none"),
        MLFLOW_REASONS: "; ".join(f["message"] for f in d["rules_fired"])[:5000],
    }
    metrics = {f"delta_{k}": v for k, v in d["deltas"].items()}
    return _log(settings, state, "decide", metrics=metrics, tags=tags, outbox=outbox)


def log_attestation(
    settings: TrackingSettings,
    state: dict,
    digest: str,
    keyid: str,
    outbox: TrackingOutbox | None = None,
) -> tuple[dict, str | None]:
    """The signed attestation's digest and signer as run tags: an anchor outside the run
    directory that a rewrite of it cannot reach."""
    tags = {MLFLOW_ATTESTATION_DIGEST: digest, MLFLOW_SIGNED_BY: keyid}
    return _log(settings, state, "attest", tags=tags, outbox=outbox)


def promotion_tag(promotion: dict) -> str:
    """The promotion as the MLflow run shows it."""
    if promotion.get("moved"):
        return f"{promotion['alias']} -> v{promotion['version']}"
    return f"none: {promotion.get('reason', '')}"


def record_finish(
    settings: TrackingSettings,
    key: str,
    run_dir: str,
    promotion: dict,
    outbox: TrackingOutbox | None = None,
) -> None:
    """Upload the published run directory, tag the promotion, close the run FINISHED."""
    (outbox or TrackingOutbox()).record(
        key,
        FINISH,
        {"run_dir": run_dir, "tags": {MLFLOW_PROMOTION: promotion_tag(promotion)}},
        target(settings),
    )


def record_failed(
    settings: TrackingSettings, key: str, error: str, outbox: TrackingOutbox | None = None
) -> None:
    """Close the retrain's MLflow run FAILED with the error (unless it already ended)."""
    (outbox or TrackingOutbox()).record(key, FAIL, {"error": error[:5000]}, target(settings))


def has_start(outbox: TrackingOutbox, key: str) -> bool:
    """Whether a retrain's tracking was queued at all (a failed run may have none)."""
    return any(r["op"] == START for r in outbox.rows(key))


def record_registration(
    settings: TrackingSettings,
    key: str,
    registration: dict,
    outbox: TrackingOutbox | None = None,
) -> None:
    """A version for the registry (real mode: the trained model) and the alias moves it makes,
    mirrored from the ledger when applied."""
    ob = outbox or TrackingOutbox()
    ob.record(key, REGISTER, registration, target(settings))
    ob.record(
        key,
        ALIAS,
        {
            "model": registration["model"],
            "alias": registration["alias"],
            **({"ledger": registration["ledger"]} if registration.get("ledger") else {}),
        },
        target(settings),
    )
