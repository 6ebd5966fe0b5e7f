"""The registry holds the trained model: a real-mode champion is servable from MLflow and
predicts what the run's model/model.joblib predicts; mock candidates register nothing and
never compare with a real champion."""

import json
from pathlib import Path

import joblib
import pandas as pd
import pytest

from tests.support.examples import IRIS
from tests.support.mlflow_server import drained, mlflow_runs_of, retrain
from verifily.dataset.artifact import iter_records
from verifily.registry.champion import ledger_aliases
from verifily.tracking.store import mlflow_client, resolve_tracking_settings
from verifily.tracking.versions import aliases


@pytest.mark.slow
def test_the_real_champion_is_servable_and_mock_stays_apart(
    instance, mlflow_env, tmp_path, monkeypatch
):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")
    real = retrain(instance, tmp_path / "runs", mode="real")
    assert real["decision"] == "SHIP"
    settings = resolve_tracking_settings()
    assert aliases(settings, "iris") == {}  # nothing before the drainer mirrors the ledger
    drained()
    assert aliases(settings, "iris") == {"champion": "1"}
    assert ledger_aliases("iris", "real") == {"champion": "1"}

    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    served = mlflow.pyfunc.load_model("models:/iris@champion")
    inputs = [r["input"] for r in iter_records(IRIS) if r["split"] == "eval"]
    local = joblib.load(Path(real["run_dir"]) / "model" / "model.joblib")
    assert list(served.predict(pd.DataFrame({"input": inputs}))) == list(local.predict(inputs))
    meta = served.metadata
    assert meta.get_input_schema().input_names() == ["input"]
    assert meta.saved_input_example_info is not None
    (run,) = mlflow_runs_of(real["run_id"])
    (version,) = mlflow_client(settings).search_model_versions("name = 'iris'")
    assert version.run_id == run.info.run_id
    assert version.tags["verifily.ledger_version"] == "1"

    # A mock candidate neither compares with the real champion nor touches the registry.
    mock = retrain(instance, tmp_path / "runs", seed=38)
    decision = json.loads((Path(mock["run_dir"]) / "decision" / "decision.json").read_text())
    assert decision["champion"] is None and decision["baseline"] is None
    assert mock["decision"] == "SHIP"
    drained()
    assert ledger_aliases("iris", "mock") == {"champion": "2"}
    assert aliases(settings, "iris") == {"champion": "1"}
    assert len(mlflow_client(settings).search_model_versions("name = 'iris'")) == 1
