"""Champion and candidate scored on the same records: the baseline's saved model is re-scored
on the candidate's eval split, every delta carries a paired bootstrap interval, and slices are
judged. The three "done when" datasets: truly better, noise only, one slice regressing."""

import importlib
import json
import sys
from pathlib import Path

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.decision_data import word_artifact
from tests.support.examples import IRIS
from verifily.decision import evidence
from verifily.rundir.contract import validate_run_contract

N = 1600  # 400 eval records, 133 or 134 per language


@pytest.fixture(autouse=True)
def _real_mode(monkeypatch):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")


def decision(resp: dict) -> dict:
    return json.loads((Path(resp["run_dir"]) / "decision" / "decision.json").read_text())


def rules(d: dict) -> list[str]:
    return [f["rule"] for f in d["rules_fired"]]


def pipeline(tmp_path: Path, text: str = "slices: [{field: meta.lang}]\n") -> str:
    p = tmp_path / "pipeline.yaml"
    p.write_text(text)
    return str(p)


def versus(tmp_path: Path, cand: dict, base: dict, config: str | None = None, **fields) -> dict:
    """The baseline trained on one word dataset, the candidate on another and decided
    against it (base_run_dir)."""
    config = config or pipeline(tmp_path)
    a = word_artifact(tmp_path / "cand_data", N, **cand)
    b = word_artifact(tmp_path / "base_data", N, **base)
    runs = tmp_path / "runs"
    old = core_retrain(b, runs, mode="real", pipeline_config=config)
    return core_retrain(
        a, runs, mode="real", base_run_dir=old["run_dir"], pipeline_config=config, **fields
    )


def test_truly_better_ships_with_an_interval_above_zero(tmp_path):
    resp = versus(tmp_path, {"seed": 1}, {"seed": 2, "learnable": ()})
    d = decision(resp)
    assert d["recommendation"] == "SHIP" and rules(d) == ["all_rules_passed"]
    f1 = d["statistics"]["metrics"]["f1"]
    assert f1["interval"][0] > 0 and f1["delta"] == d["deltas"]["f1"] > 0.3
    assert "95% interval [+" in d["rules_fired"][0]["message"]
    # Same records on both sides: the baseline's numbers are its re-scored ones.
    base = d["baseline"]
    assert base["rescored"] is True and base["why_not_rescored"] is None
    sha = base["eval_split_sha256"]
    assert sha["candidate"] == sha["baseline"] and len(sha["candidate"]) == 64
    assert base["metrics"]["f1"] == f1["baseline"] != base["recorded_metrics"]["f1"]
    em = d["statistics"]["metrics"]["exact_match"]["mcnemar"]
    assert em["candidate_only_right"] > 100 > em["baseline_only_right"]
    assert em["p_value"] < 1e-6
    # Both prediction files sit side by side, hashed into the signed contract.
    run = Path(resp["run_dir"])
    files = json.loads((run / "hashes.json").read_text())["files"]
    assert {"eval/predictions.jsonl", "eval/baseline_predictions.jsonl"} <= set(files)
    cand_lines = (run / "eval" / "predictions.jsonl").read_text().splitlines()
    base_lines = (run / "eval" / "baseline_predictions.jsonl").read_text().splitlines()
    assert len(cand_lines) == len(base_lines) == d["statistics"]["n_eval"] == 400
    ids = [json.loads(x)["id"] for x in cand_lines]
    assert ids == [json.loads(x)["id"] for x in base_lines]
    assert validate_run_contract(run) == []
    text = (run / "decision" / "decision.txt").read_text()
    assert "re-scored on the candidate's eval split" in text and "[+" in text


def test_noise_only_is_inconclusive(tmp_path):
    resp = versus(tmp_path, {"seed": 1, "signal_share": 0.7}, {"seed": 2, "signal_share": 0.7})
    d = decision(resp)
    assert d["recommendation"] == "INVESTIGATE" and rules(d) == ["inconclusive"]
    lo, hi = d["statistics"]["metrics"]["f1"]["interval"]
    assert lo < -d["thresholds"]["regression_tolerance"] < hi
    assert d["rules_fired"][0]["values"]["against"] == "regression_tolerance"


@pytest.mark.parametrize("outcome", ["investigate", "dont_ship"])
def test_one_slice_regressing_is_named(tmp_path, outcome):
    config = pipeline(tmp_path, f"slices: [{{field: meta.lang}}]\nslice_regression: {outcome}\n")
    # The candidate never saw French signal words, the baseline never saw English ones.
    resp = versus(
        tmp_path,
        {"seed": 1, "learnable": ("en", "de")},
        {"seed": 2, "learnable": ("fr", "de")},
        config,
    )
    d = decision(resp)
    fired = [f for f in d["rules_fired"] if f["rule"] == "slice_regression"]
    assert len(fired) == 1 and fired[0]["values"]["slice"] == "fr"
    assert fired[0]["outcome"] == outcome.upper()
    assert d["recommendation"] == outcome.upper()
    assert "slice meta.lang=fr (133 records)" in fired[0]["message"]
    by_value = {s["value"]: s for s in d["statistics"]["slices"]}
    assert sorted(by_value) == ["de", "en", "fr"]
    assert by_value["en"]["interval"][0] > 0 and by_value["fr"]["interval"][1] < 0
    # The overall delta is not a regression: only the slice tells.
    assert "regression" not in rules(d)


def test_a_slice_below_min_count_is_reported_not_judged(tmp_path):
    config = pipeline(tmp_path, "slices: [{field: meta.lang, min_count: 200}]\n")
    resp = versus(
        tmp_path,
        {"seed": 1, "learnable": ("en", "de")},
        {"seed": 2, "learnable": ("fr", "de")},
        config,
    )
    d = decision(resp)
    assert "slice_regression" not in rules(d)
    fr = next(s for s in d["statistics"]["slices"] if s["value"] == "fr")
    assert fr["judged"] is False and fr["interval"][1] < -0.3


def test_identical_models_have_zero_deltas_and_ship(tmp_path):
    data = word_artifact(tmp_path / "data", N, seed=1, signal_share=0.7)
    runs, config = tmp_path / "runs", pipeline(tmp_path)
    old = core_retrain(data, runs, mode="real", pipeline_config=config)
    resp = core_retrain(
        data, runs, mode="real", base_run_dir=old["run_dir"], pipeline_config=config
    )
    d = decision(resp)
    assert d["recommendation"] == "SHIP" and rules(d) == ["all_rules_passed"]
    for entry in d["statistics"]["metrics"].values():
        assert entry["delta"] == 0 and entry["interval"] == [0.0, 0.0]
    for s in d["statistics"]["slices"]:
        assert s["delta"] == 0 and s["interval"] == [0.0, 0.0]
    assert set(d["deltas"].values()) == {0}


def test_a_mock_baseline_is_not_rescored_and_says_why(tmp_path):
    runs = tmp_path / "runs"
    old = core_retrain(IRIS, runs, mode="mock")
    resp = core_retrain(IRIS, runs, mode="real", base_run_dir=old["run_dir"])
    d = decision(resp)
    assert "baseline_not_rescored" in rules(d) and d["recommendation"] == "INVESTIGATE"
    base = d["baseline"]
    assert base["rescored"] is False and "has no saved model" in base["why_not_rescored"]
    assert base["eval_split_sha256"]["baseline"] is None
    # The fallback compares with the recorded number; the interval is the candidate's own.
    f1 = d["statistics"]["metrics"]["f1"]
    assert f1["baseline"] == base["recorded_metrics"]["f1"] == base["metrics"]["f1"]
    assert not (Path(resp["run_dir"]) / "eval" / "baseline_predictions.jsonl").exists()


def test_a_byo_baseline_whose_module_is_gone_is_not_rescored(tmp_path, monkeypatch):
    mod = tmp_path / "mods" / "gone_trainer_17.py"
    mod.parent.mkdir()
    mod.write_text(
        "from tests.support.byo_trainers import train_petal_lookup as _t\n"
        "class Model:\n"
        "    def __init__(self, inner): self.inner = inner\n"
        "    def predict(self, inputs): return self.inner.predict(inputs)\n"
        "def train(records, seed, workdir): return Model(_t(records, seed, workdir))\n"
    )
    monkeypatch.syspath_prepend(str(mod.parent))
    config = tmp_path / "byo.yaml"
    config.write_text("training:\n  trainer: 'gone_trainer_17:train'\n  output_kind: classes\n")
    runs = tmp_path / "runs"
    old = core_retrain(IRIS, runs, mode="real", pipeline_config=str(config))
    mod.unlink()
    sys.modules.pop("gone_trainer_17", None)
    importlib.invalidate_caches()
    resp = core_retrain(IRIS, runs, mode="real", base_run_dir=old["run_dir"])
    d = decision(resp)
    assert "baseline_not_rescored" in rules(d)
    assert "cannot be loaded: ModuleNotFoundError" in d["baseline"]["why_not_rescored"]


def test_decision_json_is_byte_identical_for_a_fixed_seed(tmp_path):
    """Mock mode: the whole path (per-record outcomes, bootstrap, slices) without training."""
    runs = tmp_path / "runs"
    # One slice per record: each is reported, none judged (below the default min_count 30).
    config = pipeline(tmp_path, "slices: [{field: id}]\nresamples: 500\n")
    base = core_retrain(IRIS, runs, seed=9, pipeline_config=config)
    first = core_retrain(IRIS, runs, seed=4, base_run_dir=base["run_dir"], pipeline_config=config)
    again = core_retrain(IRIS, runs, seed=4, base_run_dir=base["run_dir"], pipeline_config=config)
    raw = [(Path(r["run_dir"]) / "decision" / "decision.json").read_bytes() for r in (first, again)]
    assert raw[0] == raw[1]
    d = json.loads(raw[0])
    assert d["statistics"]["resamples"] == 500 and d["baseline"]["rescored"] is True
    assert len(d["statistics"]["slices"]) == 25
    assert not any(s["judged"] for s in d["statistics"]["slices"])
    # Mock seed 4 (f1 0.80) against seed 9 (0.92): the whole interval is below -0.01.
    assert d["recommendation"] == "DONT_SHIP" and rules(d) == ["regression"]


def test_a_field_with_too_many_values_keeps_the_largest_slices(tmp_path, monkeypatch):
    monkeypatch.setattr(evidence, "MAX_SLICES", 10)
    runs = tmp_path / "runs"
    config = pipeline(tmp_path, "slices: [{field: id}, {field: meta.absent}]\n")
    resp = core_retrain(IRIS, runs, seed=4, pipeline_config=config)
    stats = decision(resp)["statistics"]
    ids = [s for s in stats["slices"] if s["field"] == "id"]
    assert len(ids) == 10 and stats["slices_omitted"] == {"id": 15}
    absent = [s for s in stats["slices"] if s["field"] == "meta.absent"]
    assert [(s["value"], s["n"]) for s in absent] == [("(missing)", 25)]
