"""The contamination report between the dataset and the retrain, and the contamination gate.

The gate is an ERROR-severity check that is deliberately not `blocking`: a blocking failure
would skip `retrain_run` and `decision`, leaving no decision record at all. Instead the report
is written into the run directory (`contamination.json`, sealed in hashes.json) and the
decision re-checks it inside its own run and answers DONT_SHIP with the reason; a DONT_SHIP
run is never promoted. So the gate blocks promotion, and every contaminated retrain still
leaves a complete, verifiable record of why it did not ship.
"""

from collections import Counter

import dagster as dg
from pydantic import Field

from resources.k8s import CONTAMINATION_TAGS, HEAVY_RETRY_POLICY
from verifily.config.pipeline import load_thresholds
from verifily.contamination.report import ContaminationParams, find_contamination
from verifily.decision import gates
from verifily.retrain.request import RetrainRequest
from verifily_assets.failures import verifily_failure
from verifily_assets.partitions import MODEL_PARTITIONS
from verifily_assets.previews import markdown_table


class ContaminationConfig(dg.Config):
    """How evaluation records are matched against the training records."""

    n: int = Field(13, description="Word n-gram length (texts shorter than n match exactly)")
    min_overlap: float = Field(
        0.0, description="Share of an eval record's n-grams that must occur in training (0: any)"
    )
    fields: list[str] = Field(["input", "output"], description="Record fields compared")
    eval_file: str | None = Field(
        None, description="Separate JSONL evaluation file (default: the artifact's eval split)"
    )


def report_markdown(report: dict, limit: int = 10) -> str:
    """The first contaminated records as a table a person can read in the UI."""
    rows = [
        {
            "eval_id": c["eval_id"],
            "method": c["method"],
            "overlap": c["overlap"],
            "train_ids": ", ".join(map(str, c["train_ids"][:5])),
        }
        for c in report["contaminated"][:limit]
    ]
    if not rows:
        return "No contaminated evaluation records."
    return markdown_table(rows)


@dg.asset(
    partitions_def=MODEL_PARTITIONS,
    group_name="gates",
    kinds={"python"},
    owners=["team:ml-platform"],
    op_tags=CONTAMINATION_TAGS,
    retry_policy=HEAVY_RETRY_POLICY,
)
def contamination_report(
    context: dg.AssetExecutionContext, config: ContaminationConfig, dataset_artifact: dict
) -> dg.MaterializeResult:
    """Evaluation records whose text already appears in the training data (exact and n-gram)."""
    req = RetrainRequest.from_dict(dataset_artifact["request"])
    last = [-1]

    def progress(done: int, total: int) -> None:
        if total and done * 10 // total > last[0]:
            last[0] = done * 10 // total
            context.log.info(f"contamination scan: {done * 100 // total}% of {total} bytes")

    with verifily_failure():
        params = ContaminationParams(
            n=config.n, min_overlap=config.min_overlap, fields=tuple(config.fields)
        )
        report = find_contamination(
            dataset_artifact["dataset"]["path"], config.eval_file, params, progress=progress
        )
        limit = load_thresholds(req.pipeline_config, metric=req.metric).max_contamination
    gate = gates.contamination_gate(report, limit)
    report = {**report, "gate": {**gate, "max_contamination": limit}}
    scan = report["scan"]
    context.log.info(f"contamination: {gate['detail']}")
    by_method = dict(Counter(c["method"] for c in report["contaminated"]).most_common())
    return dg.MaterializeResult(
        value=report,
        metadata={
            "contaminated_fraction": dg.MetadataValue.float(report["contaminated_fraction"]),
            "contaminated_count": dg.MetadataValue.int(report["contaminated_count"]),
            "eval_records": dg.MetadataValue.int(report["eval_records"]),
            "skipped_records": dg.MetadataValue.int(len(report["skipped_records"])),
            "exact_matches": dg.MetadataValue.int(int(by_method.get("exact", 0))),
            "ngram_matches": dg.MetadataValue.int(int(by_method.get("ngram", 0))),
            "n": dg.MetadataValue.int(params.n),
            "scan_mb_per_s": dg.MetadataValue.float(
                round(scan["bytes"] / 1e6 / max(scan["seconds"], 1e-9), 1)
            ),
            "contaminated": dg.MetadataValue.md(report_markdown(report)),
        },
    )


@dg.asset_check(asset=contamination_report, blocking=False, partitions_def=MODEL_PARTITIONS)
def contamination_gate(contamination_report: dict) -> dg.AssetCheckResult:
    """Contaminated fraction of eval records <= max_contamination (DONT_SHIP otherwise)."""
    gate = contamination_report["gate"]
    return dg.AssetCheckResult(
        passed=bool(gate["passed"]),
        severity=dg.AssetCheckSeverity.ERROR,
        description=gate["detail"],
        metadata={
            "contaminated_fraction": dg.MetadataValue.float(
                contamination_report["contaminated_fraction"]
            ),
            "max_contamination": dg.MetadataValue.float(gate["max_contamination"]),
        },
    )
