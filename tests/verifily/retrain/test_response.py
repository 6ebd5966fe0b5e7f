"""What a finished retrain decided and scored, read back from its run directory."""

import json
from pathlib import Path

from tests.support.core_run import run_core
from tests.support.examples import IRIS
from verifily.retrain.response import run_outcome


def test_outcome_is_the_decision_and_the_numeric_metrics(tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")  # real mode: more than two metrics
    run_dir = Path(run_core(IRIS, tmp_path / "runs")["run_dir"])
    decision = json.loads((run_dir / "decision" / "decision.json").read_text())
    metrics = json.loads((run_dir / "eval" / "eval_results.json").read_text())["metrics"]
    out = run_outcome(run_dir)
    assert out["decision"] == decision["recommendation"]
    numeric = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    assert out["metrics"] == numeric
    assert set(out["metrics"]) == {"f1", "exact_match", "accuracy", "macro_f1"}
