"""Run the retrain job in-process on the Dagster instance, for the CLI and the API."""

import fcntl
import os
from pathlib import Path

import dagster as dg

from verifily.errors import InputError, NotImplementedModeError, VerifilyError
from verifily_assets.partitions import ensure_model_partition

DEFAULT_HOME = Path(".verifily") / "dagster"
INSTANCE_YAML = """\
# Written by verifily: SQLite storage under this directory (the embedded default).
telemetry:
  enabled: false
"""


class RunFailedError(VerifilyError):
    """The retrain run failed; carries the failing step's message and the Dagster run id."""

    def __init__(self, message: str, run_id: str, exit_code: int = 70, http_status: int = 500):
        super().__init__(message)
        self.run_id = run_id
        self.exit_code = exit_code
        self.http_status = http_status


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME, defaulting to ./.verifily/dagster (created, with telemetry off)."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_HOME).absolute()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def open_instance() -> dg.DagsterInstance:
    """The instance under DAGSTER_HOME, its storage created under a lock.

    Several first-ever retrains at once would otherwise race to create the SQLite schema.
    """
    home = ensure_dagster_home()
    with open(home / ".verifily-init.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return dg.DagsterInstance.get()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_config_for(request_fields: dict, log_level: str = "WARNING") -> dict:
    """Run config for retrain_job from request fields (None means: use the default)."""
    fields = {k: v for k, v in request_fields.items() if v is not None}
    return {
        "ops": {"dataset_artifact": {"config": fields}},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }


def _root_cause(error: object) -> str:
    """The innermost error's message: Dagster wraps user errors in an execution error."""
    if error is None:
        return "step failed"
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[union-attr]
    return str(getattr(error, "message", error)).strip()


def _failure(result: dg.ExecuteInProcessResult) -> RunFailedError:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            data = event.step_failure_data
            ufd = data.user_failure_data
            if ufd is not None and "exit_code" in (ufd.metadata or {}):
                md = ufd.metadata
                return RunFailedError(
                    ufd.description or "step failed",
                    result.run_id,
                    int(md["exit_code"].value),
                    int(md["http_status"].value),
                )
            return RunFailedError(
                f"step {event.step_key} failed: {_root_cause(data.error)}", result.run_id
            )
    return RunFailedError("the retrain run failed", result.run_id)


def run_retrain(
    request_fields: dict,
    tags: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
) -> dict:
    """Execute retrain_job in this process and return the response object.

    The run is recorded in the instance under DAGSTER_HOME, so it shows in the UI afterwards.
    Raises InputError for bad config, RunFailedError (with the step's exit code) on failure.
    """
    from verifily_assets.definitions import defs

    if not request_fields.get("dataset_dir"):
        raise InputError("dataset_dir is required")
    if instance is None:
        instance = open_instance()
    model_id = request_fields.get("project_id") or "default"
    ensure_model_partition(instance, model_id)
    job = defs.resolve_job_def("retrain_job")
    try:
        result = job.execute_in_process(
            run_config=run_config_for({**request_fields, "project_id": model_id}, log_level),
            instance=instance,
            partition_key=model_id,
            tags={"verifily/model_id": model_id, "verifily/trigger": "manual", **(tags or {})},
            raise_on_error=False,
        )
    except dg.DagsterInvalidConfigError as e:
        raise InputError(f"invalid retrain request: {e}") from None
    if not result.success:
        error = _failure(result)
        from verifily_assets.tracking import fail_mlflow_run_of

        fail_mlflow_run_of(instance, result.run_id, f"dagster run failed: {error}")
        raise error
    return {**result.output_for_node("decision"), "run_id": result.run_id}


__all__ = ["run_retrain", "ensure_dagster_home", "RunFailedError", "NotImplementedModeError"]
