"""Model versions in MLflow's registry: the registered model, its aliases, and registering a
real-mode candidate's trained model as a new version (found again by its MLflow run, so
registering twice makes one version).

Only real-mode candidates are registered: a mock candidate has no weights, so a mock SHIP
registers nothing that could be served (its champion lives in the ledger only, apart from the
real ones; see verifily.registry.champion).
"""

from __future__ import annotations

import json
from pathlib import Path

from verifily.dataset.artifact import iter_records
from verifily.tags import (
    MLFLOW_ATTESTATION_DIGEST,
    MLFLOW_DAGSTER_RUN_ID,
    MLFLOW_DATASET_HASH,
    MLFLOW_DECISION,
    MLFLOW_EVAL_METRICS,
    MLFLOW_LEDGER_VERSION,
    MLFLOW_RUN_DIR,
)
from verifily.tracking.runs import experiment_id
from verifily.tracking.store import TrackingSettings, mlflow_client

MODEL_FILE = "model/model.joblib"
# Rows of the input example saved with the model (its signature is inferred from them).
EXAMPLE_ROWS = 3
# Tries of one alias move: a second one is enough when the first lost a race (see set_alias).
ALIAS_ATTEMPTS = 2


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


def set_alias(client, model: str, alias: str, version: str) -> None:
    """Point `alias` of `model` at `version`, also when another drainer moves it at the same
    moment. MLflow's SQL store sets an alias by reading it and then inserting it when absent,
    so of two first moves at once, one fails on the alias's unique key (the server answers
    400 BAD_REQUEST with SQLite's IntegrityError). Sent again, the move finds the row and
    updates it."""
    from mlflow.exceptions import MlflowException

    for attempt in range(ALIAS_ATTEMPTS):
        try:
            client.set_registered_model_alias(model, alias, version)
            return
        except MlflowException as e:
            # Only the lost race is sent again; the client already retried network errors.
            if e.error_code != "BAD_REQUEST" or attempt == ALIAS_ATTEMPTS - 1:
                raise


def find_version(
    client, model: str, *, run_id: str | None = None, attestation_digest: str | None = None
):
    """The version of `model` registered from an MLflow run or for an attested run, or None."""
    if registered_model(client, model) is None:
        return None
    query = f"name = '{model}'" + (f" and run_id = '{run_id}'" if run_id else "")
    for mv in client.search_model_versions(query):
        if attestation_digest is None or mv.tags.get(MLFLOW_ATTESTATION_DIGEST) == (
            attestation_digest
        ):
            return mv
    return None


def _input_example(run_dir: Path) -> list[str]:
    """A few training inputs of the run's dataset: what the model is called with."""
    import yaml

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    out = []
    for record in iter_records(config["request"]["dataset_dir"]):
        out.append(str(record["input"]))
        if len(out) == EXAMPLE_ROWS:
            break
    return out


def save_servable(run_dir: Path, dest: Path) -> Path:
    """The run's model/model.joblib as an MLflow pyfunc model under `dest`, with its signature
    and input example: `mlflow.pyfunc.load_model(...).predict` answers what the joblib model's
    predict answers."""
    import joblib
    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import infer_signature

    # Imported here: the wrapper subclasses MLflow's PythonModel (MLflow's start-up cost).
    from verifily.tracking.servable import JoblibModel

    model_file = run_dir / MODEL_FILE
    examples = _input_example(run_dir)
    predictions = list(joblib.load(model_file).predict(examples))
    frame = pd.DataFrame({"input": examples})
    path = dest / "model"
    mlflow.pyfunc.save_model(
        str(path),
        python_model=JoblibModel(),
        artifacts={"model": str(model_file)},
        signature=infer_signature(frame, pd.Series(predictions)),
        input_example=frame,
        # The model classes are Verifily's (built-in trainers) or the team's own: the serving
        # environment installs them; pinning our whole dependency set here would not help.
        pip_requirements=["verifily", "joblib", "scikit-learn", "pandas"],
    )
    return path


def register_version(settings: TrackingSettings, run_id: str, payload: dict, tmp: Path) -> str:
    """The candidate's trained model as a version of `payload["model"]`, logged as a
    LoggedModel of the retrain's MLflow run; the existing version when there already is one."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(settings)
    model = payload["model"]
    found = find_version(client, model, run_id=run_id)
    if found is not None:
        return str(found.version)
    run_dir = Path(payload["run_dir"])
    results = json.loads((run_dir / "eval" / "eval_results.json").read_text())
    lm = client.create_logged_model(
        experiment_id(client, settings), name=model, source_run_id=run_id, model_type="real"
    )
    client.log_model_artifacts(lm.model_id, str(save_servable(run_dir, tmp)))
    client.finalize_logged_model(lm.model_id, "READY")
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
            MLFLOW_DATASET_HASH: results["dataset_hash"],
            MLFLOW_DECISION: payload["decision"],
            MLFLOW_ATTESTATION_DIGEST: payload["attestation_digest"],
            MLFLOW_DAGSTER_RUN_ID: payload.get("dagster_run_id") or "",
            MLFLOW_LEDGER_VERSION: str(payload["version"]),
        },
        await_creation_for=0,
    )
    return str(mv.version)
