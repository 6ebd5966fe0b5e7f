"""The contamination gate through the asset graph, `verifily retrain` and the CLI."""

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from tests.support.examples import IRIS, REPO
from tests.verifily.contamination.test_report import EVAL_DOCS, TRAIN_DOCS
from verifily.dataset.artifact import write_artifact
from verifily.rundir.contract import validate_run_contract
from verifily_assets.definitions import defs
from verifily_assets.partitions import MODEL_PARTITIONS

IRIS_EVAL = json.loads((IRIS / "hashes.json").read_text())["split_counts"]["eval"]


@pytest.fixture
def contaminated(tmp_path):
    """Real docstrings; two of the ten eval records are copied into training records."""
    recs = [
        {"id": f"tr-{i}", "input": d, "output": "doc", "split": "train"}
        for i, d in enumerate(TRAIN_DOCS)
    ]
    recs += [
        {"id": f"ev-{i}", "input": d, "output": "doc", "split": "eval"}
        for i, d in enumerate(EVAL_DOCS[:10])
    ]
    recs.append({"id": "leak-1", "input": EVAL_DOCS[3], "output": "doc", "split": "train"})
    recs.append(
        {"id": "leak-2", "input": "See: " + EVAL_DOCS[7].upper(), "output": "x", "split": "train"}
    )
    return write_artifact(recs, tmp_path / "contaminated").path


def materialize(instance, dataset_dir, out_dir, partition="docs"):
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, [partition])
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    return dg.materialize(
        [*assets, *defs.asset_checks],
        instance=instance,
        partition_key=partition,
        resources=defs.resources,
        run_config={
            "ops": {
                "dataset_artifact": {
                    "config": {"dataset_dir": str(dataset_dir), "output_dir": str(out_dir)}
                }
            }
        },
        raise_on_error=False,
    )


def test_contaminated_artifact_fails_the_gate_and_the_decision(instance, tmp_path, contaminated):
    result = materialize(instance, contaminated, tmp_path / "runs")
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    gate = checks["contamination_gate"]
    assert gate.passed is False and gate.severity == dg.AssetCheckSeverity.ERROR
    assert gate.metadata["contaminated_fraction"].value == pytest.approx(0.2)
    response = result.output_for_node("decision")
    assert response["decision"] == "DONT_SHIP" and response["exit_code"] == 1
    assert any(
        r.startswith("gate contamination failed: contaminated fraction 0.2000 (2 of 10")
        for r in response["reasons"]
    )
    # The report is part of the run's contract, like every other artifact.
    run_dir = response["run_dir"]
    assert "contamination.json" in json.loads(open(f"{run_dir}/hashes.json").read())["files"]
    assert validate_run_contract(run_dir) == []
    report = json.loads(open(f"{run_dir}/contamination.json").read())
    assert {c["eval_id"]: c["train_ids"] for c in report["contaminated"]} == {
        "ev-3": ["leak-1"],
        "ev-7": ["leak-2"],
    }
    decision = json.loads(open(f"{run_dir}/decision/decision.json").read())
    assert {"name": "contamination", "passed": False}.items() <= decision["gates"][1].items()
    # The scan reported its progress to the Dagster logs.
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any(m.startswith("contamination scan: 100%") for m in logs)


def test_clean_artifact_passes_the_gate(instance, tmp_path):
    result = materialize(instance, IRIS, tmp_path / "runs", partition="iris")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["contamination_gate"] is True
    response = result.output_for_node("decision")
    assert not any("contamination" in r for r in response["reasons"])
    mat = instance.get_latest_materialization_event(
        dg.AssetKey("contamination_report")
    ).asset_materialization
    assert mat.partition == "iris" and mat.metadata["eval_records"].value == IRIS_EVAL


def cli(*args, cwd, env_home):
    env = {**os.environ, "PYTHONPATH": str(REPO), "DAGSTER_HOME": str(env_home)}
    return subprocess.run(
        [sys.executable, "-m", "verifily", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_verifily_retrain_says_dont_ship_with_the_reason(tmp_path, contaminated, dagster_home):
    runs = tmp_path / "runs"
    r = cli(
        "retrain", "--dataset", contaminated, "--out", runs, cwd=tmp_path, env_home=dagster_home
    )
    assert r.returncode == 1, r.stderr
    assert "Decision: DONT_SHIP" in r.stdout
    assert "gate contamination failed: contaminated fraction 0.2000" in r.stdout
    # A later clean retrain, gated by the contaminated run's report, is refused too.
    r2 = cli(
        "retrain",
        "--dataset",
        IRIS,
        "--out",
        runs,
        "--contaminated",
        runs / "retrain_0001",
        "--json",
        cwd=tmp_path,
        env_home=dagster_home,
    )
    assert r2.returncode == 1, r2.stderr
    decision = json.loads(open(json.loads(r2.stdout)["artifacts"]["decision/decision.json"]).read())
    rules = {f["rule"]: f["message"] for f in decision["rules_fired"]}
    assert "contamination" in rules and "0.2000 exceeds max_contamination" in rules["contamination"]


def test_contamination_cli(tmp_path, contaminated, dagster_home):
    r = cli("contamination", "--dataset", contaminated, cwd=tmp_path, env_home=dagster_home)
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("FAIL: contaminated fraction 0.2000 (2 of 10 eval records)")
    assert "ev-3: exact" in r.stdout and "in leak-1" in r.stdout
    r = cli("contamination", "--dataset", IRIS, "--json", cwd=tmp_path, env_home=dagster_home)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["gate"]["passed"] is True and report["eval_records"] == IRIS_EVAL
    evf = tmp_path / "eval.jsonl"
    evf.write_text(json.dumps({"id": "q", "input": TRAIN_DOCS[5], "output": "doc"}) + "\n")
    args = ("contamination", "--dataset", contaminated, "--eval", evf, "--n", "8", "--json")
    report = json.loads(cli(*args, cwd=tmp_path, env_home=dagster_home).stdout)
    assert report["params"]["n"] == 8 and [c["eval_id"] for c in report["contaminated"]] == ["q"]
    r = cli("contamination", "--dataset", tmp_path / "nope", cwd=tmp_path, env_home=dagster_home)
    assert r.returncode == 65 and "dataset directory does not exist" in r.stderr


def test_bad_contamination_config_fails_with_the_reason(instance, tmp_path):
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris"])
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        assets,
        instance=instance,
        partition_key="iris",
        resources=defs.resources,
        run_config={
            "ops": {
                "dataset_artifact": {"config": {"dataset_dir": str(IRIS)}},
                "contamination_report": {"config": {"eval_file": str(tmp_path / "none.jsonl")}},
            }
        },
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "contamination_report"
    ufd = failure.step_failure_data.user_failure_data
    assert "evaluation file does not exist" in ufd.description
    assert ufd.metadata["exit_code"].value == 65
