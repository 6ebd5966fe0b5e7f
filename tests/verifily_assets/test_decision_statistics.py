"""Same-records decisions through the asset graph: the eval step re-scores the baseline in real
mode, and the decision materialization carries the slice table and a number per slice."""

import json

import dagster as dg
import pytest

from tests.support.core_retrain import core_retrain
from tests.support.decision_data import word_artifact
from verifily_assets.definitions import defs
from verifily_assets.partitions import MODEL_PARTITIONS


@pytest.mark.slow
def test_real_mode_rescores_and_the_decision_shows_slices(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")
    config = tmp_path / "pipeline.yaml"
    config.write_text("slices: [{field: meta.lang}]\n")
    base_data = word_artifact(tmp_path / "base", 1600, seed=2, learnable=("fr", "de"))
    cand_data = word_artifact(tmp_path / "cand", 1600, seed=1, learnable=("en", "de"))
    runs = tmp_path / "runs"
    base = core_retrain(base_data, runs, mode="real", pipeline_config=str(config))
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["words"])
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    request = {
        "dataset_dir": str(cand_data),
        "output_dir": str(runs),
        "mode": "real",
        "base_run_dir": base["run_dir"],
        "pipeline_config": str(config),
    }
    result = dg.materialize(
        [*assets, *defs.asset_checks],
        instance=instance,
        partition_key="words",
        resources=defs.resources,
        run_config={"ops": {"dataset_artifact": {"config": request}}},
    )
    assert result.success
    response = result.output_for_node("decision")
    assert response["decision"] == "INVESTIGATE"

    def metadata(key: str) -> dict:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        assert event is not None and event.asset_materialization is not None
        return event.asset_materialization.metadata

    assert metadata("eval_results")["baseline_rescored"].value == f"yes: {base['run_dir']}"
    md = metadata("decision")
    reasons = md["reasons"].value
    assert "### Slices (f1)" in reasons and "| meta.lang=fr | 133 |" in reasons
    assert "`slice_regression`" in reasons and "re-scored on the candidate's eval split" in reasons
    fr, en = md["f1 [meta.lang=fr]"].value, md["f1 [meta.lang=en]"].value
    assert fr < 0.7 < 0.9 < en
    d = json.loads(open(f"{response['run_dir']}/decision/decision.json").read())
    assert md["f1 [meta.lang=fr]"].value == next(
        s["candidate"] for s in d["statistics"]["slices"] if s["value"] == "fr"
    )
