"""Decision rules: every outcome, every reason, never a crash on a bad baseline."""

import json

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from verifily.config.pipeline import Thresholds, load_thresholds
from verifily.decision.render import render_decision_text
from verifily.decision.rules import DONT_SHIP, INVESTIGATE, SHIP, decide

T = Thresholds(
    primary_metric="f1",
    min_metric=0.5,
    regression_tolerance=0.01,
    investigate_band=0.02,
    max_contamination=0.05,
)


def rules(d):
    return [f["rule"] for f in d["rules_fired"]]


@pytest.mark.parametrize(
    "f1, baseline, expected, rule",
    [
        (0.80, None, SHIP, "all_rules_passed"),
        (0.45, None, DONT_SHIP, "below_minimum"),
        (0.51, None, INVESTIGATE, "near_minimum"),
        (0.80, 0.805, SHIP, "all_rules_passed"),  # within tolerance
        (0.80, 0.85, DONT_SHIP, "regression"),
        (0.90, 0.80, SHIP, "all_rules_passed"),
    ],
)
def test_rule_table(f1, baseline, expected, rule):
    d = decide(
        {"f1": f1, "exact_match": 0.5},
        T,
        baseline_metrics={"f1": baseline} if baseline is not None else None,
        baseline_label="base" if baseline is not None else None,
    )
    assert d["recommendation"] == expected
    assert rule in rules(d)
    assert d["thresholds"] == T.to_dict()
    if baseline is not None:
        assert d["deltas"]["f1"] == pytest.approx(f1 - baseline)
    assert f"Decision: {expected}" in render_decision_text(d)


def test_failed_gate_is_dont_ship_whatever_the_metric():
    d = decide(
        {"f1": 0.99}, T, gates=[{"name": "dataset_integrity", "passed": False, "detail": "x"}]
    )
    assert d["recommendation"] == DONT_SHIP and rules(d) == ["gate_failed"]


def test_missing_baseline_is_investigate_not_a_crash(tmp_path):
    d = decide({"f1": 0.9}, T, base_run_dir=str(tmp_path / "nope"))
    assert d["recommendation"] == INVESTIGATE
    assert "does not exist" in d["rules_fired"][0]["message"]
    (tmp_path / "garbage").mkdir()
    d = decide({"f1": 0.9}, T, base_run_dir=str(tmp_path / "garbage"))
    assert (
        d["recommendation"] == INVESTIGATE and "does not verify" in d["rules_fired"][0]["message"]
    )


def test_missing_metric_is_investigate():
    d = decide({"exact_match": 0.9}, T)
    assert d["recommendation"] == INVESTIGATE and rules(d) == ["metric_missing"]


def test_contaminated_run_dir(tmp_path):
    dirty = core_retrain(IRIS, tmp_path / "runs", contamination={"contaminated_fraction": 0.2})
    d = decide({"f1": 0.9}, T, contaminated_run_dir=dirty["run_dir"])
    assert d["recommendation"] == DONT_SHIP and "contamination" in rules(d)
    assert d["contaminated_run"]["attestation_digest"] == dirty["attestation_digest"]
    clean = core_retrain(IRIS, tmp_path / "runs", contamination={"contaminated_fraction": 0.01})
    assert decide({"f1": 0.9}, T, contaminated_run_dir=clean["run_dir"])["recommendation"] == SHIP
    d = decide({"f1": 0.9}, T, contaminated_run_dir=str(tmp_path / "none"))
    assert d["recommendation"] == INVESTIGATE and rules(d) == ["contamination_unavailable"]


def test_an_unsigned_contamination_report_is_never_used(tmp_path):
    """A report anyone could have written (no attestation) gates nothing: INVESTIGATE."""
    (tmp_path / "contamination.json").write_text(json.dumps({"contaminated_fraction": 0.0}))
    d = decide({"f1": 0.9}, T, contaminated_run_dir=str(tmp_path))
    assert d["recommendation"] == INVESTIGATE and rules(d) == ["contamination_unavailable"]
    assert "does not verify: attestation.json: missing" in d["rules_fired"][0]["message"]


def test_a_baseline_error_from_the_caller_is_investigate(tmp_path):
    d = decide({"f1": 0.9}, T, baseline_label="champion m v3", baseline_error="ledger broken")
    assert d["recommendation"] == INVESTIGATE and rules(d) == ["baseline_unavailable"]
    assert d["rules_fired"][0]["message"] == "baseline unavailable: ledger broken"


def test_several_rules_fire_and_the_most_severe_wins():
    d = decide({"f1": 0.51}, T, baseline_metrics={"f1": 0.9}, baseline_label="b")
    assert set(rules(d)) == {"near_minimum", "regression"} and d["recommendation"] == DONT_SHIP


def test_pipeline_config_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("primary_metric: exact_match\nmin_metric: 0.7\n")
    t = load_thresholds(p)
    assert (t.primary_metric, t.min_metric, t.regression_tolerance) == ("exact_match", 0.7, 0.01)
    assert load_thresholds(p, metric="f1").primary_metric == "f1"
    p.write_text("min_metirc: 0.7\n")
    with pytest.raises(Exception, match="unknown key 'min_metirc'"):
        load_thresholds(p)
    p.write_text("min_metric: high\n")
    with pytest.raises(Exception, match="min_metric must be a number"):
        load_thresholds(p)
    with pytest.raises(Exception, match="does not exist"):
        load_thresholds(tmp_path / "missing.yaml")


def _evidence(interval, cand_interval, *, rescored=True, slices=()):
    return {
        "rescored": rescored,
        "why_not_rescored": None if rescored else "no saved model",
        "eval_split_sha256": {"candidate": "a" * 64, "baseline": "a" * 64 if rescored else None},
        "n_eval": 100,
        "method": "paired bootstrap",
        "resamples": 2000,
        "confidence": 0.9,
        "seed": 1,
        "metrics": {"f1": {"candidate": 0.8, "candidate_interval": cand_interval,
                           "baseline": 0.8, "delta": 0.0, "interval": interval}},
        "slices": list(slices),
    }  # fmt: skip


@pytest.mark.parametrize(
    "interval, expected, fired",
    [
        ([-0.05, -0.02], DONT_SHIP, ["regression"]),  # wholly below -0.01
        ([-0.03, 0.02], INVESTIGATE, ["inconclusive"]),  # straddles -0.01
        ([-0.01, 0.02], SHIP, ["all_rules_passed"]),  # lower end at -0.01: no regression
        ([0.01, 0.04], SHIP, ["all_rules_passed"]),
    ],
)
def test_the_regression_rule_is_three_way_on_the_interval(interval, expected, fired):
    d = decide({"f1": 0.8}, T, baseline_metrics={"f1": 0.8}, baseline_label="b",
               evidence=_evidence(interval, [0.75, 0.85]))  # fmt: skip
    assert (d["recommendation"], rules(d)) == (expected, fired)
    assert "90% interval" in d["rules_fired"][0]["message"]


@pytest.mark.parametrize(
    "cand_interval, expected, fired",
    [([0.45, 0.85], INVESTIGATE, ["inconclusive"]), ([0.5, 0.9], SHIP, ["all_rules_passed"])],
)
def test_an_interval_reaching_below_min_metric_is_inconclusive(cand_interval, expected, fired):
    d = decide({"f1": 0.8}, T, evidence=_evidence([0.0, 0.0], cand_interval))
    assert (d["recommendation"], rules(d)) == (expected, fired)
    if fired == ["inconclusive"]:
        assert d["rules_fired"][0]["values"]["against"] == "min_metric"


def test_a_baseline_not_rescored_is_investigate_with_why_and_both_split_hashes():
    d = decide({"f1": 0.8}, T, baseline_metrics={"f1": 0.78}, baseline_label="b",
               evidence=_evidence([0.0, 0.04], [0.75, 0.85], rescored=False))  # fmt: skip
    assert d["recommendation"] == INVESTIGATE and rules(d) == ["baseline_not_rescored"]
    f = d["rules_fired"][0]
    assert "no saved model" in f["message"]
    assert f["values"]["eval_split_sha256"] == {"candidate": "a" * 64, "baseline": None}
    assert d["baseline"]["rescored"] is False and d["baseline"]["recorded_metrics"] == {"f1": 0.78}
    assert "NOT re-scored (no saved model)" in render_decision_text(d)
