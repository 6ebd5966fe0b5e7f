"""Jobs over the asset graph."""

import dagster as dg

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.all(),
    description="Verify a dataset, retrain, evaluate and decide whether to ship.",
)
