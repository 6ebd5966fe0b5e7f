"""The one builder of a retrain's run config and tags.

The CLI and the API (through `launch`), the sensors (handed this builder by the composition
root) and the UI launchpad (through the job's partitioned config) all start retrains from what
is built here, so a retrain's request, its model, its trigger and its feed window are written
the same way whoever starts it, and reach the step Jobs on Kubernetes.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pydantic
from pydantic import Field

from verifily.errors import InputError
from verifily.feeds.window import DataWindow
from verifily.model_ids import check_model_id
from verifily.retrain.request import RetrainRequest
from verifily.tags import (
    DATA_WINDOW,
    K8S_NAMESPACE,
    MLFLOW_RUN_ID,
    MODEL_ID,
    RECORD_COUNT,
    RESERVATION_ID,
    TRIGGER,
    WINDOW_FROM,
    WINDOW_TO,
)
from verifily.tracking.reserve import reserve_run
from verifily.tracking.store import resolve_tracking_settings
from verifily_assets.executor import k8s_enabled, k8s_namespace

# The op whose config is the retrain request.
REQUEST_OP = "dataset_artifact"


class RetrainConfig(dg.Config):
    """A retrain request. Only dataset_dir is required."""

    dataset_dir: str = Field(description="Dataset artifact directory (dataset.jsonl + hashes.json)")
    output_dir: str | None = Field(
        None, description="Where run directories go (default: the deployment's output root)"
    )
    project_id: str | None = Field(
        None, description="Model/project id (default: the run's partition)"
    )
    base_run_dir: str | None = Field(None, description="Baseline run directory to compare with")
    contaminated_run_dir: str | None = Field(
        None, description="Run whose contamination report gates this one"
    )
    mode: str = Field(
        "mock", description="mock (deterministic) or real (needs VERIFILY_ENABLE_REAL_TRAIN=1)"
    )
    seed: int = Field(42, description="Random seed")
    metric: str = Field("f1", description="Primary metric the decision compares")
    notes: str = Field("", description="Free text recorded in config.yaml")
    pipeline_config: str | None = Field(
        None, description="Thresholds YAML (default: embedded defaults)"
    )

    def to_request(
        self, partition_key: str, default_output_dir: str, default_pipeline_config: str | None
    ) -> RetrainRequest:
        """The core request, paths made absolute so later steps and pods agree on them.

        The model partition is the project id; a project_id in config that names another
        model is refused rather than silently recorded under the wrong history.
        """
        check_model_id(partition_key, "the run's model partition")
        if self.project_id and self.project_id != partition_key:
            raise InputError(
                f"project_id {self.project_id!r} does not match the run's model partition "
                f"{partition_key!r}"
            )

        def absolute(p: str | None) -> str | None:
            return os.path.abspath(p) if p else None

        return RetrainRequest(
            dataset_dir=absolute(self.dataset_dir) or "",
            output_dir=absolute(self.output_dir or default_output_dir) or "",
            project_id=partition_key,
            base_run_dir=absolute(self.base_run_dir),
            contaminated_run_dir=absolute(self.contaminated_run_dir),
            mode=self.mode,
            seed=self.seed,
            metric=self.metric,
            notes=self.notes,
            pipeline_config=absolute(self.pipeline_config or default_pipeline_config),
        )


def request_config(fields: Mapping[str, Any]) -> RetrainConfig:
    """The typed request; a bad field is an InputError naming it."""
    try:
        return RetrainConfig(**{k: v for k, v in fields.items() if v is not None})
    except pydantic.ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'request'}: {err['msg']}" for err in e.errors()
        )
        raise InputError(f"invalid retrain request: {problems}") from None
    except TypeError as e:
        raise InputError(f"invalid retrain request: {e}") from None


def execution_config(
    model_id: str,
    window: DataWindow | None = None,
    env: Mapping[str, str] | None = None,
    mlflow_run_id: str = "",
) -> dict:
    """The executor's per-run config on Kubernetes (labels and env of every step Job); empty
    when steps run in-process. See `verifily_assets.executor.RUN_SCOPED_SCHEMA`."""
    if not k8s_enabled(env):
        return {}
    return {
        "config": {
            "model_id": model_id,
            "mlflow_run_id": mlflow_run_id,
            "data_window": window.to_json() if window else "",
        }
    }


def retrain_run_config(
    fields: Mapping[str, object],
    *,
    model_id: str,
    window: DataWindow | None = None,
    log_level: str | None = None,
    env: Mapping[str, str] | None = None,
    mlflow_run_id: str = "",
) -> dg.RunConfig:
    """The run config of one retrain of `model_id` (None fields take their defaults)."""
    return dg.RunConfig(
        ops={REQUEST_OP: request_config(fields)},
        execution=execution_config(model_id, window, env, mlflow_run_id) or None,
        loggers={"console": {"config": {"log_level": log_level}}} if log_level else None,
    )


def retrain_tags(
    *,
    model_id: str,
    trigger: str,
    window: DataWindow | None = None,
    extra: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The run tags of one retrain: its model, what started it, its feed window, and on
    Kubernetes the namespace of its step Jobs (the jobs API names them)."""
    tags = partition_tags(model_id, env) | {TRIGGER: trigger}
    if window is not None:
        tags |= {
            DATA_WINDOW: window.to_json(),
            WINDOW_FROM: str(window.first),
            WINDOW_TO: str(window.last),
            RECORD_COUNT: str(window.record_count),
        }
    return tags | dict(extra or {})


def retrain_run_request(
    fields: Mapping[str, object],
    *,
    model_id: str,
    trigger: str,
    run_key: str,
    window: DataWindow | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> dg.RunRequest:
    """A sensor's request for one retrain of `model_id`'s partition. On Kubernetes its MLflow
    run is opened now (bounded; `pending` when MLflow does not answer), so every step Job
    carries the run's id."""
    extra = dict(extra_tags or {})
    mlflow_run_id = ""
    if k8s_enabled():
        reservation = reserve_run(resolve_tracking_settings(), model_id)
        mlflow_run_id = reservation.label
        extra[RESERVATION_ID] = reservation.reservation_id
        if reservation.mlflow_run_id:
            extra[MLFLOW_RUN_ID] = reservation.mlflow_run_id
    return dg.RunRequest(
        run_key=run_key,
        partition_key=model_id,
        run_config=retrain_run_config(
            fields, model_id=model_id, window=window, mlflow_run_id=mlflow_run_id
        ),
        tags=retrain_tags(model_id=model_id, trigger=trigger, window=window, extra=extra),
    )


def partition_run_config(model_id: str) -> dict:
    """What the launchpad starts from for a model's partition (it adds the request itself)."""
    execution = execution_config(model_id)
    return {"execution": execution} if execution else {}


def partition_tags(model_id: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Tags every run of a model's partition carries, however it was launched."""
    namespace = k8s_namespace(env)
    return {MODEL_ID: model_id, **({K8S_NAMESPACE: namespace} if namespace else {})}
