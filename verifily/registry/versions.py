"""Model versions in MLflow's registry: the registered model, its aliases, and registering a
retrain's candidate as a new version."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from verifily.tags import MLFLOW_DATASET_HASH, MLFLOW_DECISION, MLFLOW_EVAL_METRICS, MLFLOW_RUN_DIR
from verifily.tracking.runs import experiment_id
from verifily.tracking.store import TrackingSettings, mlflow_client
from verifily.training.mock import MOCK_FORMULA


def registered_model(client, name: str):
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
    rm = registered_model(mlflow_client(settings), model)
    return {k: str(v) for k, v in rm.aliases.items()} if rm is not None else {}


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
            MLFLOW_EVAL_METRICS: json.dumps(results["metrics"], sort_keys=True),
            MLFLOW_RUN_DIR: str(run_dir),
            MLFLOW_DATASET_HASH: meta["dataset_hash"],
            MLFLOW_DECISION: meta["decision"],
        },
        await_creation_for=0,
    )
    return str(mv.version)
