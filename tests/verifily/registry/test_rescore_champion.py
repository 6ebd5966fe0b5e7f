"""Real mode against the ledger's champion: the eval step re-scores the champion's saved model
(from its verified run directory) on the candidate's eval split."""

import json
from pathlib import Path

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.decision_data import word_artifact
from verifily.registry.ledger import ledger_path
from verifily.registry.promote import promote
from verifily.tracking.store import resolve_tracking_settings


@pytest.mark.slow
def test_the_champion_is_rescored_on_the_candidates_records(mlflow_env, tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")
    runs = tmp_path / "runs"

    def retrain(data: Path) -> Path:
        resp = core_retrain(
            data, runs, mode="real", project_id="m", against_champion=True, tracked=True
        )
        return Path(resp["run_dir"])

    weak = retrain(word_artifact(tmp_path / "weak", 1600, seed=2, learnable=("de",)))
    assert promote(resolve_tracking_settings(), weak, actor="t", ledger=ledger_path())["moved"]
    strong = retrain(word_artifact(tmp_path / "strong", 1600, seed=1))
    d = json.loads((strong / "decision" / "decision.json").read_text())
    assert d["champion"]["version"] == "1" and d["champion"]["run_dir"] == str(weak)
    base = d["baseline"]
    assert base["rescored"] is True and base["run_dir"] == str(weak)
    sha = base["eval_split_sha256"]
    assert sha["candidate"] == sha["baseline"]
    # The champion's recorded f1 came from its own split; re-scored, it is a different number.
    assert base["recorded_metrics"]["f1"] != base["metrics"]["f1"]
    assert d["recommendation"] == "SHIP"
    assert d["statistics"]["metrics"]["f1"]["interval"][0] > 0
    audit = (strong / "audit_log.jsonl").read_text()
    assert '"baseline_rescored"' in audit and str(weak) in audit
