"""The dataset artifact asset and its integrity gate."""

import dagster as dg

from resources.deployment import VerifilySettings
from verifily.dataset.artifact import iter_records
from verifily.dataset.verify import verify_artifact
from verifily.decision import gates
from verifily.feeds.window import DataWindow
from verifily.retrain.request import check_request
from verifily.tags import DATA_WINDOW
from verifily_assets.asset_schemas import DATASET_COLUMNS, column_schema
from verifily_assets.failures import verifily_failure
from verifily_assets.partitions import MODEL_PARTITIONS
from verifily_assets.previews import records_preview
from verifily_assets.run_config import RetrainConfig


@dg.asset(
    partitions_def=MODEL_PARTITIONS,
    group_name="ingest",
    kinds={"json"},  # a JSONL file and its hashes.json; pandas is only used by `ingest`
    owners=["team:ml-platform"],
    metadata=column_schema(DATASET_COLUMNS),
)
def dataset_artifact(
    context: dg.AssetExecutionContext, config: RetrainConfig, settings: VerifilySettings
) -> dg.MaterializeResult:
    """The verified training/evaluation dataset; its data version is the dataset hash."""
    with verifily_failure():
        req = config.to_request(
            context.partition_key, settings.output_root, settings.pipeline_config
        )
        check_request(req)
        last = [0]

        def progress(done: int, total: int) -> None:
            if total and done * 10 // total > last[0]:
                last[0] = done * 10 // total
                context.log.info(f"verifying {req.dataset_dir}: {done * 100 // total}%")

        info = verify_artifact(req.dataset_dir, progress=progress)
    # A feed-triggered retrain trains on one window of its feed; MLflow and the jobs API show it.
    window = DataWindow.from_json(context.run.tags.get(DATA_WINDOW))
    dataset = {**info.to_dict(), **({"window": window.to_dict()} if window else {})}
    return dg.MaterializeResult(
        value={"request": req.to_dict(), "dataset": dataset},
        data_version=dg.DataVersion(info.dataset_hash),
        metadata={
            "dataset_hash": info.dataset_hash,
            "dataset_sha256": info.file_sha256,
            "record_count": dg.MetadataValue.int(info.record_count),
            "dagster/row_count": dg.MetadataValue.int(info.record_count),
            "train_records": dg.MetadataValue.int(info.split_counts.get("train", 0)),
            "eval_records": dg.MetadataValue.int(info.split_counts.get("eval", 0)),
            "size_bytes": dg.MetadataValue.int(info.size_bytes),
            "path": dg.MetadataValue.path(info.path),
            "project_id": req.project_id,
            "preview": dg.MetadataValue.md(records_preview(iter_records(info.path))),
        },
    )


@dg.asset_check(asset=dataset_artifact, blocking=True, partitions_def=MODEL_PARTITIONS)
def dataset_integrity(dataset_artifact: dict) -> dg.AssetCheckResult:
    """The artifact on disk still hashes to what was materialized (nothing changed underneath)."""
    ds = dataset_artifact["dataset"]
    gate = gates.dataset_gate(ds)
    return dg.AssetCheckResult(
        passed=bool(gate["passed"]),
        metadata={
            "dataset_hash": ds["dataset_hash"],
            "problems": "\n".join(gate["problems"]) or "none",
        },
    )
