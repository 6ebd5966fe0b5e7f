"""The executor, chosen by configuration: in-process by default, Kubernetes Jobs per step when
VERIFILY_EXECUTOR=k8s. The same code location serves both."""

import os
from collections.abc import Mapping

import dagster as dg

from resources.k8s import K8sStepSettings
from verifily.feeds.window import DataWindow

# Per-run facts written into every step Job (labels and env). `run_config.execution_config`
# fills them for every launcher (CLI, API, sensors, the launchpad's partition config).
RUN_SCOPED_SCHEMA = {
    "model_id": dg.Field(str, default_value="", description="Model (partition) id"),
    "mlflow_run_id": dg.Field(str, default_value="", description="MLflow run of this retrain"),
    "data_window": dg.Field(
        str, default_value="", description="Feed window the dataset covers (JSON, may be empty)"
    ),
}


def k8s_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True when the deployment asks for step Jobs on Kubernetes."""
    env = os.environ if env is None else env
    return env.get("VERIFILY_EXECUTOR", "in_process") == "k8s"


def k8s_namespace(env: Mapping[str, str] | None = None) -> str | None:
    """The namespace step Jobs are created in; None when steps run in-process."""
    return K8sStepSettings.from_env(env).namespace if k8s_enabled(env) else None


def build_executor(env: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """in_process_executor, or k8s_job_executor configured from RETRAINING_* settings."""
    if not k8s_enabled(env):
        return dg.in_process_executor
    # Imported here: dagster_k8s and the kubernetes client cost start-up time that in-process
    # deployments (the CLI) never need.
    from dagster_k8s import k8s_job_executor

    settings = K8sStepSettings.from_env(env)

    def per_run(config: dict) -> dict:
        return settings.executor_config(
            model_id=config["model_id"],
            mlflow_run_id=config["mlflow_run_id"],
            window=DataWindow.from_json(config["data_window"]),
            env=env,
        )

    return k8s_job_executor.configured(per_run, name="k8s", config_schema=RUN_SCOPED_SCHEMA)


def storage_paths(env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """(run directory root, IO manager base dir). On Kubernetes both live on the shared claim,
    so a step pod reads what the previous step pod wrote; locally the IO manager keeps its
    default under DAGSTER_HOME."""
    env = os.environ if env is None else env
    if not k8s_enabled(env):
        return env.get("VERIFILY_OUTPUT_ROOT", "runs"), None
    settings = K8sStepSettings.from_env(env)
    root = env.get("VERIFILY_OUTPUT_ROOT") or settings.output_root
    settings.check_output_root(root)
    return root, settings.io_storage


def k8s_resources(env: Mapping[str, str] | None = None) -> dict:
    """The `k8s` settings resource the watchdog reads, on Kubernetes only."""
    return {"k8s": K8sStepSettings.from_env(env)} if k8s_enabled(env) else {}
