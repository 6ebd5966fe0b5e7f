"""Registry promotion: SHIP moves `champion`, INVESTIGATE moves `challenger`, every move (and
every rollback) recorded in the promotion ledger."""

from __future__ import annotations

import json
import os
from pathlib import Path

from verifily.decision.rules import INVESTIGATE, SHIP
from verifily.errors import InputError
from verifily.registry.champion import CHALLENGER, CHAMPION
from verifily.registry.ledger import append_promotion
from verifily.registry.versions import aliases, register_version, registered_model
from verifily.tags import MLFLOW_RUN_DIR
from verifily.tracking.store import TrackingSettings, mlflow_client

ALIAS_FOR = {SHIP: CHAMPION, INVESTIGATE: CHALLENGER}


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
    rm = registered_model(mlflow_client(settings), model)
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
    if registered_model(client, model) is None:
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
        run_dir=mv.tags.get(MLFLOW_RUN_DIR),
        tracking_uri=settings.tracking_uri,
    )
    return {"model": model, "from_version": previous, "version": str(mv.version), **entry}
