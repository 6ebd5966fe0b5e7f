"""A bring-your-own trainer from a test module, end to end through `verifily retrain`."""

import json
from pathlib import Path

import joblib
import pytest

from tests.support.examples import IRIS
from tests.support.sklearn_data import verifily
from verifily.rundir.contract import validate_run_contract
from verifily.training.metrics import class_metrics

ENTRY = "tests.support.byo_trainers:train_petal_lookup"


@pytest.mark.slow
def test_byo_trainer_end_to_end_through_cli(tmp_path):
    cfg = tmp_path / "pipeline.yaml"
    # Per-model choice: only the "iris" model uses the BYO trainer.
    cfg.write_text(
        "min_metric: 0.5\n"
        "training:\n"
        "  trainer: auto\n"
        f"  models:\n    iris: {{trainer: '{ENTRY}'}}\n"
    )
    done = verifily(
        "retrain",
        "--dataset",
        str(IRIS),
        "--out",
        str(tmp_path / "runs"),
        "--mode",
        "real",
        "--project",
        "iris",
        "--pipeline-config",
        str(cfg),
        "--json",
        VERIFILY_ENABLE_REAL_TRAIN="1",
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
    )
    assert done.returncode in (0, 1, 3), done.stderr
    resp = json.loads(done.stdout)
    run = Path(resp["run_dir"])
    # Progress reached the CLI's stderr without -v.
    assert f"training {ENTRY} on" in done.stderr
    assert "evaluated" in done.stderr
    results = json.loads((run / "eval" / "eval_results.json").read_text())
    assert results["trainer"] == ENTRY
    assert results["output_kind"] == "classes"
    assert "from the pipeline config" in results["chosen_by"]
    # Verifily scored the predictions itself: recomputing from the saved model agrees.
    model = joblib.load(run / "model" / "model.joblib")
    records = [json.loads(line) for line in (IRIS / "dataset.jsonl").open()]
    held_out = [r for r in records if r["split"] == "eval"]
    expected = class_metrics(
        model.predict([r["input"] for r in held_out]), [r["output"] for r in held_out]
    )
    assert results["metrics"] == expected
    assert results["metrics"]["accuracy"] > results["reference"]["majority_class"]["accuracy"]
    # What the trainer wrote in its work directory is part of the contract.
    contract = json.loads((run / "hashes.json").read_text())
    assert "model/workdir/notes.txt" in contract["files"]
    assert (run / "model" / "workdir" / "notes.txt").read_text().startswith("seed=42 ")
    assert validate_run_contract(run) == []
    assert resp["eval_summary"]["f1"] == expected["f1"]
