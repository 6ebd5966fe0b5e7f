"""The sensor that gives every configured model its partition, and partitioned checks."""

import dagster as dg

from sensors.model_partitions import model_partitions_sensor
from tests.support.examples import IRIS
from tests.support.materialize import materialize_retrain
from verifily_assets.partitions import MODEL_PARTITIONS


def test_sensor_adds_missing_partitions_then_skips(instance, tmp_path, monkeypatch):
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n"
        "  - id: iris\n    feed: {kind: jsonl, path: feeds/iris}\n"
        "  - id: churn\n    feed: {kind: jsonl, path: feeds/churn}\n"
    )
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(models))
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris"])

    result = model_partitions_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult)
    [request] = result.dynamic_partitions_requests
    assert request.partitions_def_name == "model_id" and list(request.partition_keys) == ["churn"]

    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["churn"])
    again = model_partitions_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(again, dg.SkipReason) and "has its partition" in again.skip_message


def test_sensor_skips_with_the_problem_on_a_bad_file(instance, tmp_path, monkeypatch):
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  - id: 'no spaces allowed'\n    feed: {kind: jsonl, path: f}\n")
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(models))
    result = model_partitions_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason) and str(models) in result.skip_message
    assert instance.get_dynamic_partitions(MODEL_PARTITIONS.name) == []


def test_checks_run_on_one_model_when_several_exist(instance, tmp_path):
    """A check must load its own model's partition only (it once loaded every model's)."""
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris", "never_materialized"])
    result = materialize_retrain(instance, IRIS, tmp_path / "runs")
    assert result.success
    assert {
        (e.check_name, e.passed, e.partition) for e in result.get_asset_check_evaluations()
    } == {
        ("contamination_gate", True, "iris"),
        ("dataset_integrity", True, "iris"),
        ("run_contract", True, "iris"),
    }
