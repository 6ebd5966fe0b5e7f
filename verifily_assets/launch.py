"""The one door into the code location for the CLI and the API: run a retrain in this process,
or check a retrain before it is queued (the code location's sensor builds its run). Failure
handling maps a failed run back to the step's own message and exit code."""

import fcntl
from collections.abc import Mapping

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from sensors.reaper import reap_zombie_runs
from verifily.config.locations import ensure_dagster_home
from verifily.errors import InputError, NotImplementedModeError, VerifilyError
from verifily.model_ids import check_model_id
from verifily.retrain.owner import this_process
from verifily.retrain.request import RetrainRequest, preflight
from verifily.signing.keystore import signer
from verifily.tags import (
    OWNER_HOST,
    OWNER_PID,
    OWNER_STARTED,
    RETRAIN_JOB,
    TRIGGER_CLI,
)
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import has_start, record_failed
from verifily.webhooks.emit import notify
from verifily_assets.definitions import SETTINGS, defs
from verifily_assets.partitions import ensure_model_partition
from verifily_assets.run_config import request_config, retrain_run_config, retrain_tags


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
    """The model (partition) a request retrains: its project id, `default` when none; an
    InputError when it breaks the model id rule (it becomes a partition and a storage path)."""
    return check_model_id(fields.get("project_id") or "default", "project_id")


def checked_request(fields: Mapping[str, object], model_id: str) -> RetrainRequest:
    """The request as the retrain will see it (defaults of this deployment filled in), after
    every check that needs no data read: called before any Dagster run exists, so a refused
    request leaves one clear error and no failed run behind."""
    req = request_config(fields).to_request(
        model_id, SETTINGS.output_root, SETTINGS.pipeline_config
    )
    preflight(req)
    return req


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

    The run is recorded in the instance under DAGSTER_HOME, so it shows in the UI afterwards,
    with this process as its owner: if the process dies, the reaper fails the run. Runs of
    owners that are gone are reaped first. Raises InputError for bad config (or a signing key
    that cannot sign), RunFailedError (with the step's exit code) on failure.
    """
    if not request_fields.get("dataset_dir"):
        raise InputError("dataset_dir is required")
    signer()
    model_id = model_of(request_fields)
    checked_request({**request_fields, "project_id": model_id}, model_id)
    run_config = retrain_run_config(
        {**request_fields, "project_id": model_id}, model_id=model_id, log_level=log_level
    )
    if instance is None:
        instance = open_instance()
    reap_zombies(instance)
    ensure_model_partition(instance, model_id)
    host, pid, started = this_process()
    owner = {OWNER_HOST: host, OWNER_PID: pid, OWNER_STARTED: started}
    try:
        result = retrain_job_def().execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=model_id,
            tags=retrain_tags(model_id=model_id, trigger=trigger, extra={**(tags or {}), **owner}),
            raise_on_error=False,
        )
    except dg.DagsterInvalidConfigError as e:
        raise InputError(f"invalid retrain request: {e}") from None
    if not result.success:
        error = _failure(result)
        fail_mlflow_run_of(instance, result.run_id, f"dagster run failed: {error}")
        # The run-status sensors never see an in-process run: its failure is announced here.
        notify(
            "run_failed",
            {"model": model_id, "job_id": result.run_id, "dagster_run_id": result.run_id,
             "error": str(error)},
        )  # fmt: skip
        raise error
    return {**result.output_for_node("decision"), "run_id": result.run_id}


def check_queued(request_fields: Mapping[str, object]) -> None:
    """Refuse now what a queued retrain's run would refuse later: its config is checked against
    the job and its inputs must be there, so an accepted submission does not fail on either."""
    model_id = model_of(request_fields)
    fields = {**request_fields, "project_id": model_id}
    checked_request(fields, model_id)
    run_config = retrain_run_config(fields, model_id=model_id).to_config_dict()
    try:
        dg.validate_run_config(retrain_job_def(), run_config)
    except dg.DagsterInvalidConfigError as e:
        raise InputError(f"invalid retrain request: {e}") from None


def reap_zombies(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    """Fail in-process runs whose owner process is gone (checked before every CLI and API
    retrain, besides the daemon's sensor); [(run id, reason)]."""
    try:
        settings = MLflowTracker().settings()
    except InputError:
        settings = None  # a bad MLflow config is the retrain's to report; reap without it
    return reap_zombie_runs(instance, settings)


def decision_anchor(run_id: str, instance: dg.DagsterInstance | None = None) -> dict | None:
    """What the `decision` of a Dagster run recorded in the event log (attestation digest,
    chain hash, run directory); {} when it recorded none, None for a run the instance does not
    know. The event log is an anchor a rewrite of the run directory cannot reach."""
    instance = instance or open_instance()
    if instance.get_run_by_id(run_id) is None:
        return None
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        if mat is not None and mat.asset_key == dg.AssetKey("decision"):
            return {k: v.value for k, v in mat.metadata.items()}
    return {}


def fail_mlflow_run_of(instance: dg.DagsterInstance, dagster_run_id: str, error: str) -> None:
    """In-process runs have no sensor daemon: queue a failed run's MLflow close ourselves."""
    try:
        outbox = TrackingOutbox()
        if has_start(outbox, dagster_run_id):
            record_failed(MLflowTracker().settings(), dagster_run_id, error, outbox)
    except Exception:  # tracking must never mask the retrain's own error
        pass


__all__ = [
    "run_retrain",
    "open_instance",
    "reap_zombies",
    "decision_anchor",
    "RunFailedError",
    "NotImplementedModeError",
]
