"""Registry promotion: SHIP moves `champion`, INVESTIGATE moves `challenger`, every move ledgered.

The champion's evaluation results are the next retrain's baseline when it names none.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from verifily.audit import append_audit
from verifily.decision import INVESTIGATE, SHIP
from verifily.errors import InputError
from verifily.metrics import MOCK_FORMULA
from verifily.mlflow_runs import experiment_id, guard
from verifily.mlflow_settings import TrackingSettings, mlflow_client
from verifily.promotion_ledger import append_promotion

CHAMPION, CHALLENGER = "champion", "challenger"
ALIAS_FOR = {SHIP: CHAMPION, INVESTIGATE: CHALLENGER}
METRICS_TAG = "verifily.eval_metrics"


def _registered_model(client, name: str):
    """The registered model, or None when it does not exist yet."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as e:
        if e.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def aliases(settings: TrackingSettings, model: str) -> dict[str, str]:
    """{alias: version} of a registered model ({} when it is not registered)."""
    rm = _registered_model(mlflow_client(settings), model)
    return {k: str(v) for k, v in rm.aliases.items()} if rm is not None else {}


def champion(settings: TrackingSettings, model: str) -> dict | None:
    """The current champion: version, MLflow run, eval metrics and a label; None if none."""
    client = mlflow_client(settings)
    version = aliases(settings, model).get(CHAMPION)
    if version is None:
        return None
    mv = client.get_model_version(model, version)
    if METRICS_TAG in mv.tags:
        metrics = json.loads(mv.tags[METRICS_TAG])
    else:
        # Registered outside Verifily: fall back to the source run's metrics (minus deltas).
        run_metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
        metrics = {k: v for k, v in run_metrics.items() if not k.startswith("delta_")}
    return {
        "version": str(mv.version),
        "mlflow_run_id": mv.run_id,
        "run_dir": mv.tags.get("verifily.run_dir"),
        "metrics": metrics,
        "label": f"MLflow champion {model} v{mv.version} (run {mv.run_id})",
    }


def _mock_model_dir(tmp: Path, meta: dict, results: dict) -> Path:
    """A small model description: mock mode has no weights, only its formula and inputs."""
    d = tmp / "model"
    d.mkdir()
    (d / "model.json").write_text(
        json.dumps(
            {
                "flavor": "verifily-mock",
                "formula": MOCK_FORMULA,
                "dataset_hash": meta["dataset_hash"],
                "seed": meta["seed"],
                "metrics": results["metrics"],
                "run_dir": meta.get("run_dir"),
            },
            indent=2,
            sort_keys=True,
        )
    )
    return d


def register_version(
    settings: TrackingSettings,
    model: str,
    run_dir: Path,
    meta: dict,
    *,
    registered: bool,
    experiment: str | None = None,
) -> str:
    """Log the candidate as an MLflow LoggedModel of the retrain's run and register a version."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(settings)
    results = json.loads((run_dir / "eval" / "eval_results.json").read_text())
    run_id = meta["mlflow_run_id"]
    exp_id = experiment or experiment_id(client, settings)
    lm = client.create_logged_model(
        exp_id, name=f"{model}-{meta['mode']}", source_run_id=run_id, model_type=meta["mode"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        client.log_model_artifacts(lm.model_id, str(_mock_model_dir(Path(tmp), meta, results)))
    client.finalize_logged_model(lm.model_id, "READY")
    if not registered:
        try:
            client.create_registered_model(model, description="Registered by Verifily")
        except MlflowException as e:
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
    mv = client.create_model_version(
        model,
        source=lm.artifact_location,
        run_id=run_id,
        model_id=lm.model_id,
        tags={
            METRICS_TAG: json.dumps(results["metrics"], sort_keys=True),
            "verifily.run_dir": str(run_dir),
            "verifily.dataset_hash": meta["dataset_hash"],
            "verifily.decision": meta["decision"],
        },
        await_creation_for=0,
    )
    return str(mv.version)


def promote(
    settings: TrackingSettings,
    run_dir: str | os.PathLike,
    *,
    actor: str,
    ledger: Path,
    experiment: str | None = None,
) -> dict:
    """Apply a published retrain's decision to the registry; returns what moved (or why not)."""
    d = Path(run_dir)
    meta = {**json.loads((d / "run_meta.json").read_text()), "run_dir": str(d)}
    decision = json.loads((d / "decision" / "decision.json").read_text())
    model, rec = meta["project_id"], decision["recommendation"]
    alias = ALIAS_FOR.get(rec)
    if alias is None:
        return {"moved": False, "model": model, "alias": None, "reason": f"{rec} moves no alias"}
    if not meta.get("mlflow_run_id") or meta.get("mlflow_error"):
        return {
            "moved": False,
            "model": model,
            "alias": alias,
            "reason": "the retrain has no MLflow run (tracking was off or unavailable)",
        }
    rm = _registered_model(mlflow_client(settings), model)
    previous = str(rm.aliases[alias]) if rm is not None and alias in rm.aliases else None
    version = register_version(
        settings, model, d, meta, registered=rm is not None, experiment=experiment
    )
    mlflow_client(settings).set_registered_model_alias(model, alias, version)
    entry = append_promotion(
        ledger,
        "alias_moved",
        model=model,
        alias=alias,
        from_version=previous,
        to_version=version,
        actor=actor,
        why=[f["message"] for f in decision["rules_fired"]],
        decision=rec,
        baseline=(decision.get("baseline") or {}).get("source"),
        mlflow_run_id=meta["mlflow_run_id"],
        dagster_run_id=meta.get("dagster_run_id"),
        run_dir=str(d),
        tracking_uri=settings.tracking_uri,
    )
    return {
        "moved": True,
        "model": model,
        "alias": alias,
        "from_version": previous,
        "version": version,
        "ledger_seq": entry["seq"],
    }


def rollback(
    settings: TrackingSettings,
    model: str,
    to_version: str,
    *,
    actor: str,
    reason: str,
    ledger: Path,
) -> dict:
    """Move `champion` back to an existing version of the model, recorded in the ledger."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(settings)
    if _registered_model(client, model) is None:
        raise InputError(f"model {model!r} is not registered in {settings.tracking_uri}")
    try:
        mv = client.get_model_version(model, str(to_version))
    except MlflowException as e:
        if e.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise InputError(f"model {model!r} has no version {to_version}") from None
        raise
    previous = aliases(settings, model).get(CHAMPION)
    client.set_registered_model_alias(model, CHAMPION, str(mv.version))
    entry = append_promotion(
        ledger,
        "rollback",
        model=model,
        alias=CHAMPION,
        from_version=previous,
        to_version=str(mv.version),
        actor=actor,
        why=[reason],
        decision=None,
        mlflow_run_id=mv.run_id,
        run_dir=mv.tags.get("verifily.run_dir"),
        tracking_uri=settings.tracking_uri,
    )
    return {"model": model, "from_version": previous, "version": str(mv.version), **entry}


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
