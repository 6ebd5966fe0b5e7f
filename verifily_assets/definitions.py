"""The one composition root: every asset, check, job, sensor and resource of the code location."""

import os

import dagster as dg

from resources.settings import VerifilySettings
from sensors.automation import automation
from verifily_assets.contamination import contamination_gate, contamination_report
from verifily_assets.dataset import dataset_artifact, dataset_integrity
from verifily_assets.decision import decision, run_contract
from verifily_assets.executor import build_executor, k8s_resources, k8s_sensors, storage_paths
from verifily_assets.jobs import retrain_job
from verifily_assets.model_partitions import model_partitions_sensor
from verifily_assets.training import eval_results, retrain_run

# Local defaults, or (VERIFILY_EXECUTOR=k8s) both on the claim every step pod mounts.
OUTPUT_ROOT, IO_STORAGE = storage_paths()
automation_sensors, feed_resources = automation()

defs = dg.Definitions(
    assets=[dataset_artifact, contamination_report, retrain_run, eval_results, decision],
    asset_checks=[dataset_integrity, contamination_gate, run_contract],
    jobs=[retrain_job],
    sensors=[model_partitions_sensor, *automation_sensors, *k8s_sensors()],
    resources={
        "settings": VerifilySettings(
            output_root=OUTPUT_ROOT,
            pipeline_config=os.environ.get("VERIFILY_PIPELINE_CONFIG") or None,
        ),
        # Explicit, so runs launched in-process (the CLI) persist outputs like UI runs do and a
        # later materialization of `decision` alone can load its inputs.
        "io_manager": dg.FilesystemIOManager(base_dir=IO_STORAGE),
        **k8s_resources(),
        **feed_resources,
    },
    executor=build_executor(),
)
