"""The one composition root: every asset, check, job, sensor and resource of the code location."""

import os

import dagster as dg

from resources.settings import VerifilySettings
from verifily_assets.contamination import contamination_gate, contamination_report
from verifily_assets.dataset import dataset_artifact, dataset_integrity
from verifily_assets.decision import decision, run_contract
from verifily_assets.jobs import retrain_job
from verifily_assets.model_partitions import model_partitions_sensor
from verifily_assets.training import eval_results, retrain_run

defs = dg.Definitions(
    assets=[dataset_artifact, contamination_report, retrain_run, eval_results, decision],
    asset_checks=[dataset_integrity, contamination_gate, run_contract],
    jobs=[retrain_job],
    sensors=[model_partitions_sensor],
    resources={
        "settings": VerifilySettings(
            output_root=os.environ.get("VERIFILY_OUTPUT_ROOT", "runs"),
            pipeline_config=os.environ.get("VERIFILY_PIPELINE_CONFIG") or None,
        ),
        # Explicit, so runs launched in-process (the CLI) persist outputs like UI runs do and a
        # later materialization of `decision` alone can load its inputs.
        "io_manager": dg.FilesystemIOManager(),
    },
    executor=dg.in_process_executor,
)
