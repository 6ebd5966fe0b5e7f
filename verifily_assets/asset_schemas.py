"""Declared schemas of what each asset holds, shown in the UI before anything is materialized."""

import dagster as dg

DATASET_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("id", "string | int", description="Record id (optional, unique)"),
        dg.TableColumn("split", "string", description="train or eval (assigned by hash if absent)"),
        dg.TableColumn("input", "string", description="Model input text"),
        dg.TableColumn("output", "string | number | bool", description="Expected output"),
        dg.TableColumn("meta", "object", description="Free-form metadata (optional)"),
    ]
)

METRIC_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("metric", "string", description="Metric name (f1, exact_match, ...)"),
        dg.TableColumn("value", "float", description="Candidate value on the eval split"),
    ]
)

DECISION_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("recommendation", "string", description="SHIP, DONT_SHIP or INVESTIGATE"),
        dg.TableColumn("exit_code", "int", description="0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE"),
        dg.TableColumn("rules_fired", "list", description="Every rule with outcome and numbers"),
        dg.TableColumn("candidate_metrics", "object", description="The candidate's metrics"),
        dg.TableColumn("baseline", "object", description="Baseline source and metrics, if any"),
        dg.TableColumn("deltas", "object", description="Candidate minus baseline, per metric"),
        dg.TableColumn("thresholds", "object", description="The thresholds the rules applied"),
        dg.TableColumn("gates", "list", description="Gate results re-checked in this run"),
    ]
)


def column_schema(schema: dg.TableSchema) -> dict:
    """Definition metadata under the key the UI renders as the asset's column schema."""
    return {"dagster/column_schema": schema}


def metrics_table(metrics: dict[str, float]) -> dg.TableMetadataValue:
    """Eval metrics as a Dagster table (rendered as a table in the UI)."""
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({"metric": k, "value": float(v)}) for k, v in sorted(metrics.items())
        ],
        schema=METRIC_COLUMNS,
    )
