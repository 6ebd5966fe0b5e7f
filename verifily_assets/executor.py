"""The executor, chosen by configuration: in-process by default, Kubernetes Jobs per step when
VERIFILY_EXECUTOR=k8s. The same code location serves both."""

import os
from collections.abc import Mapping

import dagster as dg

from resources.k8s import K8sStepSettings

# Per-run facts written into every step Job (labels and env). Whoever launches a run on
# Kubernetes passes them as `execution: {config: {...}}`; all are optional.
RUN_SCOPED_SCHEMA = {
    "model_id": dg.Field(str, default_value="", description="Model (partition) id"),
    "mlflow_run_id": dg.Field(str, default_value="", description="MLflow run of this retrain"),
    "data_window": dg.Field(str, default_value="", description="Feed window the dataset covers"),
}


def k8s_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True when the deployment asks for step Jobs on Kubernetes."""
    env = os.environ if env is None else env
    return env.get("VERIFILY_EXECUTOR", "in_process") == "k8s"


def build_executor(env: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """in_process_executor, or k8s_job_executor configured from RETRAINING_* settings."""
    if not k8s_enabled(env):
        return dg.in_process_executor
    from dagster_k8s import k8s_job_executor

    settings = K8sStepSettings.from_env(env)

    def per_run(config: dict) -> dict:
        return settings.executor_config(
            model_id=config["model_id"],
            mlflow_run_id=config["mlflow_run_id"],
            data_window=config["data_window"],
            env=env,
        )

    return k8s_job_executor.configured(per_run, name="k8s", config_schema=RUN_SCOPED_SCHEMA)


def run_scoped_config(tags: Mapping[str, str], env: Mapping[str, str] | None = None) -> dict:
    """The `execution` run config a launcher adds on Kubernetes, from the run's own tags
    (`verifily/model_id` or the partition, `verifily/mlflow_run_id`, `verifily/data_window`);
    empty when in-process."""
    if not k8s_enabled(env):
        return {}
    return {
        "execution": {
            "config": {
                "model_id": tags.get("verifily/model_id") or tags.get("dagster/partition", ""),
                "mlflow_run_id": tags.get("verifily/mlflow_run_id", ""),
                "data_window": tags.get("verifily/data_window", ""),
            }
        }
    }


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


def k8s_sensors(env: Mapping[str, str] | None = None) -> list:
    """The step watchdog, on Kubernetes only (it needs the cluster API)."""
    if not k8s_enabled(env):
        return []
    from sensors.k8s_step_watch import k8s_step_watch

    return [k8s_step_watch]


def k8s_resources(env: Mapping[str, str] | None = None) -> dict:
    """The `k8s` settings resource the watchdog reads, on Kubernetes only."""
    return {"k8s": K8sStepSettings.from_env(env)} if k8s_enabled(env) else {}
