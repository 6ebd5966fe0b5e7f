"""Deployment-wide settings for retrains: where run directories go, which thresholds apply."""

import dagster as dg


class VerifilySettings(dg.ConfigurableResource):
    """Where run directories are written and which pipeline config supplies the thresholds."""

    output_root: str = "runs"
    pipeline_config: str | None = None
