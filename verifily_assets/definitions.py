"""The one composition root: every asset, check, job, sensor and resource of the code location."""

import os

import dagster as dg

from resources.io_manager import RunScopedIOManager
from resources.mlflow_tracker import MLflowTracker
from resources.settings import VerifilySettings
from sensors.automation import automation
from sensors.mlflow_runs import mlflow_run_failures
from verifily_assets.contamination import contamination_gate, contamination_report
from verifily_assets.dataset import dataset_artifact, dataset_integrity
from verifily_assets.decision import decision, run_contract
from verifily_assets.executor import build_executor, k8s_resources, k8s_sensors, storage_paths
from verifily_assets.jobs import retrain_job
from verifily_assets.model_partitions import model_partitions_sensor
from verifily_assets.promotion import promotion
from verifily_assets.training import eval_results, retrain_run

# Local defaults, or (VERIFILY_EXECUTOR=k8s) both on the claim every step pod mounts.
OUTPUT_ROOT, IO_STORAGE = storage_paths()
automation_sensors, feed_resources = automation()

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
    jobs=[retrain_job],
    sensors=[model_partitions_sensor, mlflow_run_failures, *automation_sensors, *k8s_sensors()],
    resources={
        "settings": VerifilySettings(
            output_root=OUTPUT_ROOT,
            pipeline_config=os.environ.get("VERIFILY_PIPELINE_CONFIG") or None,
        ),
        # Explicit, so runs launched in-process (the CLI) persist outputs like UI runs do; kept
        # per run so concurrent retrains of one model never load each other's step outputs,
        # and per partition (latest) so a later materialization of `decision` alone can.
        "io_manager": RunScopedIOManager(base_dir=IO_STORAGE),
        **k8s_resources(),
        **feed_resources,
        # Resolved at use time from MLFLOW_TRACKING_URI / config/mlflow_retraining.yaml /
        # the SQLite default, so one code location serves every deployment.
        "mlflow": MLflowTracker(),
    },
    executor=build_executor(),
)
