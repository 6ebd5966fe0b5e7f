"""The one composition root: every asset, check, job, sensor and resource of the code location."""

import os

import dagster as dg

from resources.mlflow_tracker import MLflowTracker
from resources.settings import VerifilySettings
from sensors.mlflow_runs import mlflow_run_failures
from verifily_assets.dataset import dataset_artifact, dataset_integrity
from verifily_assets.decision import decision, run_contract
from verifily_assets.jobs import retrain_job
from verifily_assets.promotion import promotion
from verifily_assets.training import eval_results, retrain_run

defs = dg.Definitions(
    assets=[dataset_artifact, retrain_run, eval_results, decision, promotion],
    asset_checks=[dataset_integrity, run_contract],
    jobs=[retrain_job],
    sensors=[mlflow_run_failures],
    resources={
        "settings": VerifilySettings(
            output_root=os.environ.get("VERIFILY_OUTPUT_ROOT", "runs"),
            pipeline_config=os.environ.get("VERIFILY_PIPELINE_CONFIG") or None,
        ),
        # Explicit, so runs launched in-process (the CLI) persist outputs like UI runs do and a
        # later materialization of `decision` alone can load its inputs.
        "io_manager": dg.FilesystemIOManager(),
        # Resolved at use time from MLFLOW_TRACKING_URI / config/mlflow_retraining.yaml /
        # the SQLite default, so one code location serves every deployment.
        "mlflow": MLflowTracker(),
    },
    executor=dg.in_process_executor,
)
