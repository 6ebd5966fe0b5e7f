"""Every name Verifily writes where other systems read it: Dagster run tags, the job and
partition names, trigger names, Kubernetes labels and env, MLflow tags.

Read and written only through these constants: `tests/verifily/test_tags.py` fails when a
tag is read somewhere and written nowhere, and when a `"verifily/` literal appears elsewhere.
"""

PREFIX = "verifily/"

# -- Dagster names -------------------------------------------------------------------------------
RETRAIN_JOB = "retrain_job"
# A person's verdict on a pending approval, launched from the launchpad.
REVIEW_JOB = "review_candidate"
# The dynamic partitions definition: one partition per model id.
MODEL_PARTITIONS_NAME = "model_id"

# Run tags Dagster itself writes (we only read them).
PARTITION = "dagster/partition"
RUN_KEY = "dagster/run_key"
# "true" on a failed run Dagster's run retries will run again (a run that never started).
WILL_RETRY = "dagster/will_retry"
# On a failed run: why (e.g. "START_TIMEOUT", failed by run monitoring for never starting).
FAILURE_REASON = "dagster/failure_reason"
# On a retry Dagster made: the run it retries.
PARENT_RUN_ID = "dagster/parent_run_id"
# On a run a sensor requested: the sensor's name.
SENSOR_NAME = "dagster/sensor_name"
WRITTEN_BY_DAGSTER = frozenset(
    {PARTITION, RUN_KEY, WILL_RETRY, FAILURE_REASON, PARENT_RUN_ID, SENSOR_NAME}
)

# -- Run tags ------------------------------------------------------------------------------------
MODEL_ID = PREFIX + "model_id"
TRIGGER = PREFIX + "trigger"
# A feed window: JSON of verifily.feeds.window.DataWindow (record range, time span, feed).
DATA_WINDOW = PREFIX + "data_window"
# The window's record range again, as plain numbers a person can filter runs by in the UI.
WINDOW_FROM = PREFIX + "window_from"
WINDOW_TO = PREFIX + "window_to"
RECORD_COUNT = PREFIX + "record_count"
DATASET_HASH = PREFIX + "dataset_hash"
MLFLOW_RUN_ID = PREFIX + "mlflow_run_id"
MLFLOW_EXPERIMENT_ID = PREFIX + "mlflow_experiment_id"
# Monitor-triggered retrains: which monitor, which decision's run, where the retrain will land.
MONITOR_ID = PREFIX + "monitor_id"
RETRAIN_SUBMITTED = PREFIX + "retrain_submitted"
SOURCE_RUN_ID = PREFIX + "source_run_id"
RETRAIN_RUN_DIR = PREFIX + "retrain_run_dir"
# Jobs API submissions. A queued job's id, given at submission, on the run made for it (its
# run_key is the same id).
JOB_ID = PREFIX + "job_id"
REASON = PREFIX + "reason"
IDEMPOTENCY_KEY = PREFIX + "idempotency_key"
REQUEST_SHA256 = PREFIX + "request_sha256"
# Who executes an in-process run (CLI, API sync): the reaper fails it when that process is gone.
OWNER_HOST = PREFIX + "owner_host"
OWNER_PID = PREFIX + "owner_pid"
# The owner's process start time (clock ticks since boot) and boot id: a reused PID is not it.
OWNER_STARTED = PREFIX + "owner_started"
# The run's staging directory, once allocated: what the reaper sweeps when the run is failed.
STAGING_DIR = PREFIX + "staging_dir"
# The namespace a run's step Jobs are created in (runs of the Kubernetes executor only).
K8S_NAMESPACE = PREFIX + "k8s_namespace"

# Op tag of the heavy steps (their own Kubernetes requests and limits).
OP_HEAVY = PREFIX + "heavy"

# -- Triggers: the values of TRIGGER -------------------------------------------------------------
TRIGGER_CLI = "manual"
TRIGGER_API = "api"
TRIGGER_API_SYNC = "api-sync"
TRIGGER_INTELGRAPH = "intelgraph"
TRIGGER_RECORD_COUNT = "record_count"
TRIGGER_MONITOR = "monitor"

# -- Kubernetes step Jobs: labels and env ---------------------------------------------------------
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MODEL_ID = PREFIX + "model-id"
LABEL_MLFLOW_RUN_ID = PREFIX + "mlflow-run-id"
# The window's record range ("<from>-<to>") and time span (compact UTC times).
LABEL_DATA_WINDOW = PREFIX + "data-window"
LABEL_WINDOW_START = PREFIX + "window-start"
LABEL_WINDOW_END = PREFIX + "window-end"
ENV_MODEL_ID = "VERIFILY_MODEL_ID"
ENV_MLFLOW_RUN_ID = "VERIFILY_MLFLOW_RUN_ID"
ENV_DATA_WINDOW = "VERIFILY_DATA_WINDOW"
ENV_DAGSTER_RUN_ID = "VERIFILY_DAGSTER_RUN_ID"
RUN_SCOPED_ENV = (ENV_MODEL_ID, ENV_MLFLOW_RUN_ID, ENV_DATA_WINDOW)

# -- MLflow run and model version tags ------------------------------------------------------------
MLFLOW_DAGSTER_RUN_ID = "verifily.dagster_run_id"
MLFLOW_TRIGGER = "verifily.trigger"
MLFLOW_MODEL_ID = "verifily.model_id"
MLFLOW_RUN_DIR = "verifily.run_dir"
MLFLOW_DATASET_HASH = "verifily.dataset_hash"
MLFLOW_DECISION = "verifily.decision"
MLFLOW_BASELINE = "verifily.baseline"
MLFLOW_REASONS = "verifily.reasons"
MLFLOW_ERROR = "verifily.error"
MLFLOW_PROMOTION = "verifily.promotion"
MLFLOW_EVAL_METRICS = "verifily.eval_metrics"
# The SHA-256 of the run directory's signed in-toto Statement, and the key id that signed it.
MLFLOW_ATTESTATION_DIGEST = "verifily.attestation_digest"
MLFLOW_SIGNED_BY = "verifily.signed_by"
# The version number the signed ledger gave a registered version (MLflow numbers its own).
MLFLOW_LEDGER_VERSION = "verifily.ledger_version"
# The id a retrain's MLflow run was reserved under when it was requested (before its Dagster
# run existed); the drainer finds the run by it.
MLFLOW_RESERVATION = "verifily.reservation"
# The reservation id as a Dagster run tag.
RESERVATION_ID = PREFIX + "mlflow_reservation"
