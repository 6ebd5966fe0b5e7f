"""The one composition root: every asset, check, job, sensor and resource of the code location.

The deployment is chosen here, by configuration only: the executor (in-process, or Kubernetes
Jobs with `VERIFILY_EXECUTOR=k8s` and its watchdog sensor), where run directories and step
outputs live, and which feeds the models file names.
"""

import os

import dagster as dg

from resources.deployment import VerifilySettings
from resources.io_manager import RunScopedIOManager
from resources.jobs_db import JobsDatabase
from resources.mlflow_tracker import MLflowTracker
from sensors.api_jobs import build_api_job_sensors
from sensors.approvals_watch import approvals_watch
from sensors.automation import automation
from sensors.mlflow_runs import mlflow_run_failures
from sensors.model_partitions import model_partitions_sensor
from sensors.reaper import zombie_run_reaper
from sensors.target import RetrainTarget
from sensors.tracking_outbox import tracking_outbox
from sensors.webhook_deliveries import webhook_deliveries
from verifily_assets.contamination import contamination_gate, contamination_report
from verifily_assets.dataset import dataset_artifact, dataset_integrity
from verifily_assets.decision import decision, run_contract
from verifily_assets.executor import build_executor, k8s_enabled, k8s_resources, storage_paths
from verifily_assets.jobs import retrain_job
from verifily_assets.promotion import promotion
from verifily_assets.review_job import review_candidate
from verifily_assets.run_config import retrain_run_request
from verifily_assets.training import eval_results, retrain_run

# Local defaults, or (VERIFILY_EXECUTOR=k8s) both on the claim every step pod mounts.
OUTPUT_ROOT, IO_STORAGE = storage_paths()
# Where run directories go and which thresholds apply: the asset steps read it as a resource,
# the one door (launch) to check a request before any run is created.
SETTINGS = VerifilySettings(
    output_root=OUTPUT_ROOT,
    pipeline_config=os.environ.get("VERIFILY_PIPELINE_CONFIG") or None,
)
# What every sensor starts: the retrain job, through the one builder of its run requests.
RETRAIN_TARGET = RetrainTarget(retrain_job, retrain_run_request)
automation_sensors, feed_resources = automation(RETRAIN_TARGET)


def k8s_sensors() -> list[dg.SensorDefinition]:
    """The step watchdog, which needs the cluster API: on Kubernetes only."""
    if not k8s_enabled():
        return []
    # Imported here: the kubernetes client costs every process that loads this code location
    # (each run worker, before its run starts) half a second; only Kubernetes needs it.
    from sensors.k8s_step_watch import k8s_step_watch

    return [k8s_step_watch]


defs = dg.Definitions(
    assets=[
        dataset_artifact,
        contamination_report,
        retrain_run,
        eval_results,
        decision,
        promotion,
    ],
    asset_checks=[dataset_integrity, contamination_gate, run_contract],
    jobs=[retrain_job, review_candidate],
    sensors=[
        model_partitions_sensor,
        mlflow_run_failures,
        tracking_outbox,
        zombie_run_reaper,
        webhook_deliveries,
        approvals_watch,
        *build_api_job_sensors(RETRAIN_TARGET),
        *automation_sensors,
        *k8s_sensors(),
    ],
    resources={
        "settings": SETTINGS,
        # Explicit, so runs launched in-process (the CLI) persist outputs like UI runs do; kept
        # per run so concurrent retrains of one model never load each other's step outputs,
        # and per partition (latest) so a later materialization of `decision` alone can.
        "io_manager": RunScopedIOManager(base_dir=IO_STORAGE),
        **k8s_resources(),
        **feed_resources,
        # Resolved at use time from MLFLOW_TRACKING_URI / config/mlflow_retraining.yaml /
        # the SQLite default, so one code location serves every deployment.
        "mlflow": MLflowTracker(),
        # Where the jobs API stores queued jobs (VERIFILY_JOBS_DB_URL, as `verifily serve`).
        "jobs_db": JobsDatabase(),
    },
    executor=build_executor(),
)
