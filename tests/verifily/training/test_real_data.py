"""Built-in trainers on datasets scikit-learn ships, ingested with `verifily ingest`."""

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.support.core_run import eval_results, run_core
from tests.support.sklearn_data import sklearn_artifact
from verifily.dataset.artifact import iter_records
from verifily.rundir.contract import validate_run_contract

# The accuracy each classifier must reach above always answering the majority training class
# on the held-out split. Linear models reach ~0.95 on all three; the margins leave room for
# a different split, not for a model that learned nothing.
MARGINS = {"iris": 0.45, "wine": 0.35, "breast_cancer": 0.25}


@pytest.fixture(autouse=True)
def _real_mode(monkeypatch):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")


def _majority_accuracy(artifact: Path) -> tuple[float, int]:
    """Computed here from the records, independently of Verifily's own reference figure."""
    recs = list(iter_records(artifact))
    majority = Counter(r["output"] for r in recs if r["split"] == "train").most_common(1)[0][0]
    held_out = [r["output"] for r in recs if r["split"] == "eval"]
    return sum(o == majority for o in held_out) / len(held_out), len(held_out)


@pytest.mark.parametrize("name", sorted(MARGINS))
def test_classifier_beats_majority_baseline(name, tmp_path):
    artifact = sklearn_artifact(name, tmp_path)
    baseline, n_eval = _majority_accuracy(artifact)
    resp = run_core(artifact, tmp_path / "runs")
    results = eval_results(resp)
    assert results["trainer"] == "text_classifier"
    assert results["output_kind"] == "classes"
    assert results["n_eval"] == n_eval > 0
    m = results["metrics"]
    assert m["accuracy"] >= baseline + MARGINS[name], (m, baseline)
    assert m["macro_f1"] >= 0.8
    assert m["exact_match"] == m["accuracy"] and m["f1"] == m["macro_f1"]
    assert results["reference"]["majority_class"]["accuracy"] == pytest.approx(baseline, abs=1e-6)
    # The predictions Verifily scored are in the run dir and give the same accuracy again.
    run = Path(resp["run_dir"])
    preds = [json.loads(line) for line in (run / "eval" / "predictions.jsonl").open()]
    assert len(preds) == n_eval
    again = sum(p["prediction"] == p["output"] for p in preds) / n_eval
    assert again == pytest.approx(m["accuracy"], abs=1e-6)
    # The saved model is part of the contract.
    contract = json.loads((run / "hashes.json").read_text())
    assert "model/model.joblib" in contract["files"] and "model/model.json" in contract["files"]
    assert validate_run_contract(run) == []


def test_same_seed_same_metrics(tmp_path):
    artifact = sklearn_artifact("wine", tmp_path)
    first = run_core(artifact, tmp_path / "runs", seed=7)
    second = run_core(artifact, tmp_path / "runs", seed=7)
    assert first["run_dir"] != second["run_dir"]
    a = (Path(first["run_dir"]) / "eval" / "eval_results.json").read_bytes()
    b = (Path(second["run_dir"]) / "eval" / "eval_results.json").read_bytes()
    assert a == b
    pa = (Path(first["run_dir"]) / "eval" / "predictions.jsonl").read_bytes()
    assert pa == (Path(second["run_dir"]) / "eval" / "predictions.jsonl").read_bytes()


def test_regressor_beats_mean_baseline(tmp_path):
    artifact = sklearn_artifact("diabetes", tmp_path)
    recs = list(iter_records(artifact))
    train = [r["output"] for r in recs if r["split"] == "train"]
    held_out = [r["output"] for r in recs if r["split"] == "eval"]
    mean = sum(train) / len(train)
    mean_mae = sum(abs(o - mean) for o in held_out) / len(held_out)
    results = eval_results(run_core(artifact, tmp_path / "runs"))
    assert results["trainer"] == "regressor"
    assert results["output_kind"] == "numeric"
    m = results["metrics"]
    # Linear regression explains about half the variance of this target; MAE drops ~25%.
    assert m["mae"] <= 0.85 * mean_mae, (m, mean_mae)
    assert m["rmse"] >= m["mae"]
    assert m["f1"] == m["exact_match"]
    assert results["numeric_tolerance"] == {"abs": 1e-6, "rel": 0.01}
