"""The code location loads and the retrain graph materializes with its checks passing."""

import dagster as dg

from tests.support.examples import IRIS
from tests.support.materialize import materialize_retrain
from verifily.rundir.contract import validate_run_contract
from verifily_assets.definitions import defs
from verifily_assets.partitions import MODEL_PARTITIONS


def test_code_location_loads():
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("retrain_job")
    assert {n.name for n in job.graph.node_defs} >= {
        "dataset_artifact",
        "contamination_report",
        "retrain_run",
        "eval_results",
        "decision",
    }
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"dataset_artifact", "retrain_run", "eval_results", "decision"} <= keys
    checks = {c.name for c in graph.asset_check_keys}
    assert {"dataset_integrity", "contamination_gate", "run_contract"} <= checks


def test_materialize_graph_passes_checks(instance, tmp_path):
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris"])
    result = materialize_retrain(instance, IRIS, tmp_path / "runs")
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name: e.passed for e in evaluations} == {
        "dataset_integrity": True,
        "contamination_gate": True,
        "run_contract": True,
    }
    response = result.output_for_node("decision")
    assert response["decision"] in ("SHIP", "DONT_SHIP", "INVESTIGATE")
    assert validate_run_contract(response["run_dir"]) == []
    mat = instance.get_latest_materialization_event(dg.AssetKey("dataset_artifact"))
    assert mat is not None and mat.asset_materialization.partition == "iris"


def test_dagster_cli_validates_the_workspace():
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    dagster = Path(sys.executable).with_name("dagster")
    p = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Validation successful" in p.stdout + p.stderr
