"""MLflow tracking and registry for retrains, on the plain MLflow client (not dagster-mlflow)."""

import dagster as dg
from pydantic import Field

from verifily.tracking.store import TrackingSettings, resolve_tracking_settings


class MLflowTracker(dg.ConfigurableResource):
    """Where each retrain's MLflow run and the model registry live (default: local SQLite)."""

    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI (default: MLFLOW_TRACKING_URI, config, SQLite)",
    )
    artifact_uri: str | None = Field(
        default=None,
        description="Artifact location for new experiments (default: MLFLOW_ARTIFACT_URI)",
    )
    experiment_name: str | None = Field(
        default=None, description="Experiment (default: config file, else intelgraph-retraining)"
    )
    config_file: str | None = Field(
        default=None,
        description="YAML config (default: VERIFILY_MLFLOW_CONFIG or config/mlflow_...)",
    )
    enabled: bool | None = Field(
        default=None,
        description="Track retrains at all (default: VERIFILY_MLFLOW_ENABLED, config, on)",
    )

    def settings(self) -> TrackingSettings:
        """Resolved at use time, so environment changes reach long-lived code servers."""
        return resolve_tracking_settings(
            tracking_uri=self.tracking_uri,
            artifact_uri=self.artifact_uri,
            experiment_name=self.experiment_name,
            config_file=self.config_file,
            enabled=self.enabled,
        )
