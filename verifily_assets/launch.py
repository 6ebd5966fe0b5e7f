"""The one door into the code location for the CLI and the API: run a retrain in this process,
or check a retrain before it is queued (the code location's sensor builds its run). Failure
handling maps a failed run back to the step's own message and exit code."""

import fcntl
from collections.abc import Mapping

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from verifily.config.locations import ensure_dagster_home
from verifily.errors import InputError, NotImplementedModeError, VerifilyError
from verifily.retrain.inputs import check_inputs
from verifily.tags import MLFLOW_RUN_ID, RETRAIN_JOB, TRIGGER_CLI
from verifily.tracking.runs import fail_if_running
from verifily_assets.definitions import defs
from verifily_assets.partitions import ensure_model_partition
from verifily_assets.run_config import retrain_run_config, retrain_tags


class RunFailedError(VerifilyError):
    """The retrain run failed; carries the failing step's message and the Dagster run id."""

    def __init__(self, message: str, run_id: str, exit_code: int = 70, http_status: int = 500):
        super().__init__(message)
        self.run_id = run_id
        self.exit_code = exit_code
        self.http_status = http_status


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


def retrain_job_def() -> dg.JobDefinition:
    """The retrain job as the code location defines it."""
    return defs.resolve_job_def(RETRAIN_JOB)


def model_of(fields: Mapping[str, object]) -> str:
    """The model (partition) a request retrains: its project id, `default` when none."""
    return str(fields.get("project_id") or "default")


def _root_cause(error: object) -> str:
    """The innermost error's message: Dagster wraps user errors in an execution error."""
    if error is None:
        return "step failed"
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[union-attr]
    return str(getattr(error, "message", error)).strip()


def _int_value(metadata: Mapping[str, dg.MetadataValue], key: str, default: int) -> int:
    """An integer that verifily_failure put in a failure's metadata."""
    value = metadata[key].value
    return value if isinstance(value, int) else default


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
                    _int_value(md, "exit_code", 70),
                    _int_value(md, "http_status", 500),
                )
            return RunFailedError(
                f"step {event.step_key} failed: {_root_cause(data.error)}", result.run_id
            )
    return RunFailedError("the retrain run failed", result.run_id)


def run_retrain(
    request_fields: Mapping[str, object],
    *,
    trigger: str = TRIGGER_CLI,
    tags: Mapping[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
) -> dict:
    """Execute retrain_job in this process and return the response object.

    The run is recorded in the instance under DAGSTER_HOME, so it shows in the UI afterwards.
    Raises InputError for bad config, RunFailedError (with the step's exit code) on failure.
    """
    if not request_fields.get("dataset_dir"):
        raise InputError("dataset_dir is required")
    model_id = model_of(request_fields)
    # Refused before a run exists: a request that cannot start is not a run in the history.
    check_inputs({**request_fields, "project_id": model_id})
    run_config = retrain_run_config(
        {**request_fields, "project_id": model_id}, model_id=model_id, log_level=log_level
    )
    if instance is None:
        instance = open_instance()
    ensure_model_partition(instance, model_id)
    try:
        result = retrain_job_def().execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=model_id,
            tags=retrain_tags(model_id=model_id, trigger=trigger, extra=tags),
            raise_on_error=False,
        )
    except dg.DagsterInvalidConfigError as e:
        raise InputError(f"invalid retrain request: {e}") from None
    if not result.success:
        error = _failure(result)
        fail_mlflow_run_of(instance, result.run_id, f"dagster run failed: {error}")
        raise error
    return {**result.output_for_node("decision"), "run_id": result.run_id}


def check_queued(request_fields: Mapping[str, object]) -> None:
    """Refuse now what a queued retrain's run would refuse later: its config is checked against
    the job and its inputs must be there, so an accepted submission does not fail on either."""
    model_id = model_of(request_fields)
    fields = {**request_fields, "project_id": model_id}
    check_inputs(dict(fields))
    run_config = retrain_run_config(fields, model_id=model_id).to_config_dict()
    try:
        dg.validate_run_config(retrain_job_def(), run_config)
    except dg.DagsterInvalidConfigError as e:
        raise InputError(f"invalid retrain request: {e}") from None


def fail_mlflow_run_of(instance: dg.DagsterInstance, dagster_run_id: str, error: str) -> None:
    """In-process runs have no sensor daemon: close a failed run's MLflow run ourselves."""
    dagster_run = instance.get_run_by_id(dagster_run_id)
    run_id = dagster_run.tags.get(MLFLOW_RUN_ID) if dagster_run else None
    if run_id:
        try:
            fail_if_running(MLflowTracker().settings(), run_id, error)
        except Exception:  # tracking must never mask the retrain's own error
            pass


__all__ = ["run_retrain", "open_instance", "RunFailedError", "NotImplementedModeError"]
