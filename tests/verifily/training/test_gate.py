"""Real mode is refused without VERIFILY_ENABLE_REAL_TRAIN=1: by the CLI, the asset, the API."""

import dagster as dg
import pytest

from tests.support.examples import IRIS
from tests.support.sklearn_data import verifily
from verifily.errors import NotImplementedModeError
from verifily.modes import REAL_TRAIN_ENV
from verifily.retrain.request import RetrainRequest, check_request
from verifily_assets.definitions import defs
from verifily_assets.partitions import MODEL_PARTITIONS

MESSAGE = "real training mode is disabled; set VERIFILY_ENABLE_REAL_TRAIN=1 to enable it"


@pytest.mark.parametrize("value", [None, "0", "true", ""])
def test_request_check_refuses_unless_exactly_1(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(REAL_TRAIN_ENV, raising=False)
    else:
        monkeypatch.setenv(REAL_TRAIN_ENV, value)
    req = RetrainRequest(dataset_dir=str(IRIS), mode="real")
    with pytest.raises(NotImplementedModeError, match=MESSAGE) as e:
        check_request(req)
    assert e.value.http_status == 501 and e.value.exit_code == 69


def test_request_check_allows_real_mode_when_enabled(monkeypatch):
    monkeypatch.setenv(REAL_TRAIN_ENV, "1")
    check_request(RetrainRequest(dataset_dir=str(IRIS), mode="real"))


@pytest.mark.slow
def test_cli_refuses_real_mode(tmp_path):
    out = tmp_path / "runs"
    done = verifily(
        "retrain",
        "--dataset",
        str(IRIS),
        "--out",
        str(out),
        "--mode",
        "real",
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
    )
    assert done.returncode == 69, done.stderr
    assert MESSAGE in done.stderr
    assert not out.exists() or not [p for p in out.iterdir() if "retrain" in p.name]


def test_asset_refuses_real_mode(instance, tmp_path, monkeypatch):
    monkeypatch.delenv(REAL_TRAIN_ENV, raising=False)
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris"])
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        assets,
        instance=instance,
        partition_key="iris",
        resources=defs.resources,
        raise_on_error=False,
        run_config={
            "ops": {
                "dataset_artifact": {
                    "config": {
                        "dataset_dir": str(IRIS),
                        "output_dir": str(tmp_path / "runs"),
                        "mode": "real",
                    }
                }
            }
        },
    )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["dataset_artifact"]
    ufd = failures[0].step_failure_data.user_failure_data
    assert ufd.description == MESSAGE
    assert ufd.metadata["error_type"].value == "NotImplementedModeError"
    assert ufd.metadata["http_status"].value == 501
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("*retrain*"))
