"""Kubernetes settings from the environment, and the executor chosen by configuration."""

import os
import subprocess
import sys

import dagster as dg
import pytest

from resources.k8s import K8sStepSettings, label_value
from verifily.errors import InputError
from verifily.feeds.window import DataWindow
from verifily.tags import (
    LABEL_DATA_WINDOW,
    LABEL_MLFLOW_RUN_ID,
    LABEL_MODEL_ID,
    LABEL_WINDOW_END,
    LABEL_WINDOW_START,
)
from verifily_assets.executor import build_executor, storage_paths

BASE = {"VERIFILY_EXECUTOR": "k8s", "RETRAINING_IMAGE": "reg.example/verifily:1"}


def test_in_process_is_the_default():
    assert build_executor({}) is dg.in_process_executor
    assert storage_paths({}) == ("runs", None)


def test_k8s_executor_when_the_deployment_says_so():
    ex = build_executor(BASE)
    assert ex.name == "k8s" and ex is not dg.in_process_executor
    assert storage_paths(BASE) == ("/verifily/runs", "/verifily/dagster-storage")


def test_settings_read_every_retraining_variable():
    s = K8sStepSettings.from_env(
        {
            **BASE,
            "RETRAINING_NAMESPACE": "ml",
            "RETRAINING_SERVICE_ACCOUNT": "trainer",
            "RETRAINING_IMAGE_PULL_POLICY": "Always",
            "RETRAINING_IMAGE_PULL_SECRETS": "regcred, other ,",
            "RETRAINING_SHARED_CLAIM": "runs-rwx",
            "RETRAINING_SHARED_MOUNT": "/data/",
            "RETRAINING_MAX_RUNTIME_SECONDS": "600",
            "RETRAINING_POD_START_TIMEOUT_SECONDS": "60",
        }
    )
    window = DataWindow(50, 100, "2026-11-01T10:00:00Z", "2026-11-22T09:30:00Z", {"kind": "sql"})
    cfg = s.executor_config(model_id="iris", window=window, env={})
    assert cfg["job_namespace"] == "ml" and cfg["service_account_name"] == "trainer"
    assert cfg["image_pull_policy"] == "Always"
    assert cfg["image_pull_secrets"] == [{"name": "regcred"}, {"name": "other"}]
    assert cfg["volumes"][0]["persistent_volume_claim"]["claim_name"] == "runs-rwx"
    assert cfg["volume_mounts"][0]["mount_path"] == "/data"
    assert cfg["step_k8s_config"]["job_spec_config"] == {
        "backoff_limit": 0,
        "ttl_seconds_after_finished": 3600,
        "active_deadline_seconds": 660,
    }
    assert cfg["labels"][LABEL_MODEL_ID] == "iris"
    assert LABEL_MLFLOW_RUN_ID not in cfg["labels"]  # empty values are not labels
    assert cfg["labels"][LABEL_DATA_WINDOW] == "50-100"
    assert cfg["labels"][LABEL_WINDOW_START] == "20261101T100000Z"
    assert cfg["labels"][LABEL_WINDOW_END] == "20261122T093000Z"
    assert f"VERIFILY_DATA_WINDOW={window.to_json()}" in cfg["env_vars"]
    assert cfg["load_incluster_config"] is True and "kubeconfig_file" not in cfg
    assert [v["name"] for v in cfg["volumes"]] == ["verifily-shared"]


def test_the_signing_key_secret_is_mounted_read_only_in_step_pods():
    env = {
        **BASE,
        "RETRAINING_SIGNING_KEY_SECRET": "verifily-signing-key",
        "VERIFILY_SIGNING_KEY": "/var/run/secrets/verifily/signing.pem",
    }
    cfg = K8sStepSettings.from_env(env).executor_config(model_id="iris", env=env)
    assert cfg["volumes"][1] == {
        "name": "verifily-signing-key",
        "secret": {"secret_name": "verifily-signing-key", "default_mode": 0o400},
    }
    assert cfg["volume_mounts"][1] == {
        "name": "verifily-signing-key",
        "mount_path": "/var/run/secrets/verifily",
        "read_only": True,
    }
    assert "VERIFILY_SIGNING_KEY=/var/run/secrets/verifily/signing.pem" in cfg["env_vars"]
    with pytest.raises(InputError, match="set VERIFILY_SIGNING_KEY to a file there"):
        K8sStepSettings.from_env({**env, "VERIFILY_SIGNING_KEY": "/verifily/signing.pem"})


def test_settings_forward_the_code_location_environment_to_step_pods():
    s = K8sStepSettings.from_env(BASE)
    cfg = s.executor_config(env={**BASE, "VERIFILY_OUTPUT_ROOT": "/verifily/runs", "OTHER": "x"})
    assert "VERIFILY_EXECUTOR=k8s" in cfg["env_vars"]
    assert "VERIFILY_OUTPUT_ROOT=/verifily/runs" in cfg["env_vars"]
    assert not any(e.startswith("OTHER=") for e in cfg["env_vars"])


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"VERIFILY_EXECUTOR": "k8s"}, "RETRAINING_IMAGE"),
        ({**BASE, "RETRAINING_IMAGE_PULL_POLICY": "Sometimes"}, "Sometimes"),
        ({**BASE, "RETRAINING_SHARED_MOUNT": "rel/path"}, "absolute"),
        ({**BASE, "RETRAINING_MAX_RUNTIME_SECONDS": "1h"}, "whole number"),
        ({**BASE, "RETRAINING_POD_START_TIMEOUT_SECONDS": "0"}, "positive"),
        ({**BASE, "VERIFILY_OUTPUT_ROOT": "/elsewhere/runs"}, "outside the shared volume"),
    ],
)
def test_bad_settings_are_refused_with_the_problem_named(env, needle):
    with pytest.raises(InputError, match=needle):
        storage_paths(env)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("iris", "iris"),
        ("2026-11-01..2026-11-22", "2026-11-01..2026-11-22"),
        ("a b/c", "a_b_c"),
        ("-x-", "x"),
        ("y" * 80, "y" * 63),
    ],
)
def test_label_values_are_kubernetes_safe(raw, expected):
    assert label_value(raw) == expected


def test_env_secrets_and_mlflow_settings_reach_step_pods_but_run_values_do_not_leak():
    env = {
        **BASE,
        "RETRAINING_ENV_SECRETS": "mlflow-creds",
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "VERIFILY_ENABLE_REAL_TRAIN": "1",
        "VERIFILY_MODEL_ID": "stale",
    }
    cfg = K8sStepSettings.from_env(env).executor_config(model_id="iris", env=env)
    assert cfg["env_secrets"] == ["mlflow-creds"]
    assert "MLFLOW_TRACKING_URI=http://mlflow:5000" in cfg["env_vars"]
    assert "VERIFILY_ENABLE_REAL_TRAIN=1" in cfg["env_vars"]
    assert "VERIFILY_MODEL_ID=iris" in cfg["env_vars"]
    assert "VERIFILY_MODEL_ID=stale" not in cfg["env_vars"]


def test_code_location_loads_with_the_k8s_executor_by_configuration(tmp_path):
    """The one composition root, imported fresh with the deployment's variables."""
    env = {
        **os.environ,
        **BASE,
        "RETRAINING_SHARED_MOUNT": str(tmp_path),
        "RETRAINING_KUBECONFIG": str(tmp_path / "kubeconfig"),
    }
    env.pop("VERIFILY_OUTPUT_ROOT", None)
    code = (
        "import dagster as dg\n"
        "from verifily_assets.definitions import defs, OUTPUT_ROOT, IO_STORAGE\n"
        "dg.Definitions.validate_loadable(defs)\n"
        "job = defs.resolve_job_def('retrain_job')\n"
        "names = ','.join(s.name for s in defs.sensors)\n"
        "print(job.executor_def.name, names, OUTPUT_ROOT, IO_STORAGE)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    executor, sensors, output_root, io_storage = out.stdout.split()
    assert executor == "k8s" and "k8s_step_watch" in sensors.split(",")
    assert (output_root, io_storage) == (f"{tmp_path}/runs", f"{tmp_path}/dagster-storage")
