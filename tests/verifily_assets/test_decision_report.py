"""The decision Markdown shown in the UI: recommendation, every rule and number, links."""

from verifily.config.pipeline import Thresholds
from verifily.decision.rules import decide
from verifily_assets.asset_schemas import metrics_table
from verifily_assets.decision_report import decision_markdown, slice_metadata


def _decision(candidate, baseline=None):
    return decide(
        candidate,
        Thresholds(),
        baseline_metrics=baseline,
        baseline_label="retrain_0001" if baseline else None,
        gates=[{"name": "dataset_integrity", "passed": True, "detail": "dataset hash unchanged"}],
    )


def test_regression_lists_rule_numbers_and_metric_table():
    d = _decision({"f1": 0.70, "exact_match": 0.5}, baseline={"f1": 0.80, "exact_match": 0.5})
    md = decision_markdown(d, {"run_dir": "/runs/retrain_0002"})
    assert md.startswith("## DONT_SHIP: the candidate must not ship")
    assert "`regression`" in md and "0.8000 -> 0.7000" in md and "delta=-0.1000" in md
    assert "| f1 (primary) | 0.7000 | 0.8000 | -0.1000 |" in md
    assert "baseline `retrain_0001`" in md
    assert "dataset_integrity: **pass**" in md
    assert "MLflow run: not recorded" in md and "`/runs/retrain_0002`" in md


def test_numbers_the_message_states_are_not_repeated():
    d = _decision({"f1": 0.9, "exact_match": 0.7})
    md = decision_markdown(d, {"run_dir": "/r"})
    assert "f1 0.9000 >= min_metric 0.5000" in md and "value=" not in md


def test_every_fired_rule_is_listed():
    d = _decision({"exact_match": 0.5})
    md = decision_markdown(d, {"run_dir": "/r"})
    assert d["recommendation"] == "INVESTIGATE"
    for rule in d["rules_fired"]:
        assert f"`{rule['rule']}`" in md and rule["message"] in md


def test_mlflow_link_when_the_response_has_one():
    d = _decision({"f1": 0.9, "exact_match": 0.7})
    url = "http://127.0.0.1:5000/#/experiments/1/runs/abc"
    md = decision_markdown(d, {"run_dir": "/r", "mlflow_run_id": "abc", "mlflow_run_url": url})
    assert f"[abc]({url})" in md and "verifily mlflow" not in md
    hint = "start `verifily mlflow` (MLflow's UI on sqlite:///s/mlflow.db), then open the link"
    md = decision_markdown(
        d,
        {"run_dir": "/r", "mlflow_run_id": "abc", "mlflow_run_url": url, "mlflow_open_with": hint},
    )
    assert f"[abc]({url}) ({hint})" in md


def test_metrics_table_rows_follow_the_schema():
    table = metrics_table({"f1": 0.5, "exact_match": 0.25})
    assert [c.name for c in table.schema.columns] == ["metric", "value"]
    assert [r.data for r in table.records] == [
        {"metric": "exact_match", "value": 0.25},
        {"metric": "f1", "value": 0.5},
    ]


def test_intervals_rescoring_and_a_table_per_slice():
    evidence = {
        "rescored": True,
        "why_not_rescored": None,
        "eval_split_sha256": {"candidate": "ab" * 32, "baseline": "ab" * 32},
        "n_eval": 400,
        "method": "paired bootstrap",
        "resamples": 2000,
        "confidence": 0.95,
        "seed": 7,
        "metrics": {
            "f1": {"candidate": 0.86, "baseline": 0.83, "delta": 0.03, "interval": [-0.02, 0.08],
                   "candidate_interval": [0.82, 0.89]},
            "exact_match": {"candidate": 0.86, "baseline": 0.83, "delta": 0.03,
                            "interval": [-0.02, 0.08], "candidate_interval": [0.82, 0.89],
                            "mcnemar": {"candidate_only_right": 30, "baseline_only_right": 18,
                                        "p_value": 0.11}},
        },
        "slices": [
            {"field": "meta.lang", "value": "fr", "n": 133, "min_count": 30, "judged": True,
             "candidate": 0.57, "baseline": 1.0, "delta": -0.43, "interval": [-0.51, -0.34],
             "candidate_interval": [0.49, 0.66]},
            {"field": "meta.lang", "value": "xx", "n": 4, "min_count": 30, "judged": False,
             "candidate": 0.5, "baseline": 0.75, "delta": -0.25, "interval": [-0.75, 0.25],
             "candidate_interval": [0.0, 1.0]},
        ],
    }  # fmt: skip
    d = decide(
        {"f1": 0.86, "exact_match": 0.86},
        Thresholds(),
        baseline_metrics={"f1": 0.80, "exact_match": 0.80},
        baseline_label="champion m v1",
        evidence=evidence,
    )
    assert [f["rule"] for f in d["rules_fired"]] == ["inconclusive", "slice_regression"]
    md = decision_markdown(d, {"run_dir": "/r"})
    assert "| f1 (primary) | 0.8600 | 0.8300 | 0.0300 | [-0.0200, +0.0800] |  |" in md
    assert "| 0.1100 |" in md and "re-scored on the candidate's eval split" in md
    assert "| meta.lang=fr | 133 | 0.5700 | 1.0000 | -0.4300 | [-0.5100, -0.3400] | yes |" in md
    assert "| meta.lang=xx | 4 |" in md and "no (min_count 30)" in md
    assert slice_metadata(d) == {"f1 [meta.lang=fr]": 0.57, "f1 [meta.lang=xx]": 0.5}
