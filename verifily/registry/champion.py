"""The current champion of a model, and its evaluation results as the next retrain's baseline
when the request names none."""

from __future__ import annotations

import json

from verifily.registry.versions import aliases
from verifily.rundir.audit import append_audit
from verifily.tags import MLFLOW_EVAL_METRICS, MLFLOW_RUN_DIR
from verifily.tracking.runs import guard
from verifily.tracking.store import TrackingSettings, mlflow_client

CHAMPION, CHALLENGER = "champion", "challenger"


def champion(settings: TrackingSettings, model: str) -> dict | None:
    """The current champion: version, MLflow run, eval metrics and a label; None if none."""
    client = mlflow_client(settings)
    version = aliases(settings, model).get(CHAMPION)
    if version is None:
        return None
    mv = client.get_model_version(model, version)
    if MLFLOW_EVAL_METRICS in mv.tags:
        metrics = json.loads(mv.tags[MLFLOW_EVAL_METRICS])
    else:
        # Registered outside Verifily: fall back to the source run's metrics (minus deltas).
        run_metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
        metrics = {k: v for k, v in run_metrics.items() if not k.startswith("delta_")}
    return {
        "version": str(mv.version),
        "mlflow_run_id": mv.run_id,
        "run_dir": mv.tags.get(MLFLOW_RUN_DIR),
        "metrics": metrics,
        "label": f"MLflow champion {model} v{mv.version} (run {mv.run_id})",
    }


def champion_baseline(
    settings: TrackingSettings, state: dict
) -> tuple[dict, dict | None, str | None, str | None]:
    """(state, baseline metrics, baseline label, warning) from the registry's champion.

    Only when the request names no base_run_dir. When the registry cannot be read, the
    decision goes on without a baseline and its label says why.
    """
    req = state["request"]
    if req.get("base_run_dir") or not settings.enabled:
        return state, None, None, None
    if (state.get("mlflow") or {}).get("error"):
        return state, None, "none (MLflow champion unavailable: tracking failed earlier)", None
    found: dict = {}

    def lookup() -> None:
        found["champion"] = champion(settings, req["project_id"])

    state, warning = guard(state, "champion_baseline", lookup)
    if warning:
        return state, None, f"none (MLflow champion unavailable: {warning})", warning
    c = found["champion"]
    if c is None:
        return state, None, None, None
    append_audit(
        state["staging_dir"],
        "baseline_from_champion",
        model=req["project_id"],
        version=c["version"],
        mlflow_run_id=c["mlflow_run_id"],
        metrics=c["metrics"],
    )
    return state, c["metrics"], c["label"], None
