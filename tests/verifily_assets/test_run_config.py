"""The one builder of a retrain's run config and tags, for every launcher."""

import dagster as dg
import pytest

from verifily.errors import InputError
from verifily.feeds.window import DataWindow
from verifily.tags import (
    DATA_WINDOW,
    MODEL_ID,
    PARTITION,
    RECORD_COUNT,
    TRIGGER,
    TRIGGER_RECORD_COUNT,
    WINDOW_FROM,
    WINDOW_TO,
)
from verifily_assets.launch import retrain_job_def
from verifily_assets.run_config import (
    execution_config,
    partition_run_config,
    retrain_run_config,
    retrain_run_request,
    retrain_tags,
)

K8S = {"VERIFILY_EXECUTOR": "k8s", "RETRAINING_IMAGE": "reg.example/verifily:1"}
WINDOW = DataWindow(0, 50, "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z", {"kind": "jsonl"})


def test_in_process_runs_have_no_execution_config():
    assert execution_config("iris", WINDOW, env={}) == {}
    cfg = retrain_run_config({"dataset_dir": "/d"}, model_id="iris", env={}).to_config_dict()
    assert cfg["ops"]["dataset_artifact"]["config"]["dataset_dir"] == "/d"
    assert not cfg["execution"]
    # What the builder makes is valid for the job as the code location defines it.
    dg.validate_run_config(retrain_job_def(), cfg)


def test_on_kubernetes_the_model_and_window_are_in_the_executor_config():
    cfg = execution_config("iris", WINDOW, env=K8S)["config"]
    assert cfg["model_id"] == "iris"
    assert DataWindow.from_json(cfg["data_window"]) == WINDOW
    assert execution_config("iris", None, env=K8S)["config"]["data_window"] == ""


def test_a_feed_window_is_written_once_as_tags():
    tags = retrain_tags(model_id="iris", trigger=TRIGGER_RECORD_COUNT, window=WINDOW)
    assert tags[MODEL_ID] == "iris" and tags[TRIGGER] == TRIGGER_RECORD_COUNT
    assert DataWindow.from_json(tags[DATA_WINDOW]) == WINDOW
    assert (tags[WINDOW_FROM], tags[WINDOW_TO], tags[RECORD_COUNT]) == ("0", "50", "50")
    assert DATA_WINDOW not in retrain_tags(model_id="iris", trigger="manual")


def test_a_bad_field_is_an_input_error_naming_it():
    with pytest.raises(InputError, match="seed"):
        retrain_run_config({"dataset_dir": "/d", "seed": "many"}, model_id="iris")


def test_sensor_requests_carry_the_partition_and_the_request():
    req = retrain_run_request(
        {"dataset_dir": "/d", "mode": "mock"},
        model_id="iris",
        trigger=TRIGGER_RECORD_COUNT,
        run_key="k",
        window=WINDOW,
    )
    assert req.partition_key == "iris" and req.run_key == "k"
    assert req.run_config["ops"]["dataset_artifact"]["config"]["dataset_dir"] == "/d"
    assert req.tags[DATA_WINDOW] == WINDOW.to_json()


def test_launchpad_runs_of_a_partition_get_the_model_id():
    """What the UI's launchpad and backfills start from for a model's partition."""
    assert partition_run_config("iris") == {}
    job = retrain_job_def()
    assert job.get_tags_for_partition_key("iris", selected_asset_keys=None)[MODEL_ID] == "iris"
    assert job.get_tags_for_partition_key("iris", selected_asset_keys=None)[PARTITION] == "iris"
