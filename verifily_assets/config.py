"""The retrain request as Dagster run config: the launchpad shows these fields and defaults."""

import os

import dagster as dg
from pydantic import Field

from verifily.errors import InputError
from verifily.request import RetrainRequest


class RetrainConfig(dg.Config):
    """A retrain request. Only dataset_dir is required."""

    dataset_dir: str = Field(description="Dataset artifact directory (dataset.jsonl + hashes.json)")
    output_dir: str | None = Field(
        None, description="Where run directories go (default: the deployment's output root)"
    )
    project_id: str | None = Field(
        None, description="Model/project id (default: the run's partition)"
    )
    base_run_dir: str | None = Field(None, description="Baseline run directory to compare with")
    contaminated_run_dir: str | None = Field(
        None, description="Run whose contamination report gates this one"
    )
    mode: str = Field(
        "mock", description="mock (deterministic) or real (needs VERIFILY_ENABLE_REAL_TRAIN=1)"
    )
    seed: int = Field(42, description="Random seed")
    metric: str = Field("f1", description="Primary metric the decision compares")
    notes: str = Field("", description="Free text recorded in config.yaml")
    pipeline_config: str | None = Field(
        None, description="Thresholds YAML (default: embedded defaults)"
    )

    def to_request(
        self, partition_key: str, default_output_dir: str, default_pipeline_config: str | None
    ) -> RetrainRequest:
        """The core request, paths made absolute so later steps and pods agree on them.

        The model partition is the project id; a project_id in config that names another
        model is refused rather than silently recorded under the wrong history.
        """
        if self.project_id and self.project_id != partition_key:
            raise InputError(
                f"project_id {self.project_id!r} does not match the run's model partition "
                f"{partition_key!r}"
            )

        def absolute(p: str | None) -> str | None:
            return os.path.abspath(p) if p else None

        return RetrainRequest(
            dataset_dir=absolute(self.dataset_dir) or "",
            output_dir=absolute(self.output_dir or default_output_dir) or "",
            project_id=partition_key,
            base_run_dir=absolute(self.base_run_dir),
            contaminated_run_dir=absolute(self.contaminated_run_dir),
            mode=self.mode,
            seed=self.seed,
            metric=self.metric,
            notes=self.notes,
            pipeline_config=absolute(self.pipeline_config or default_pipeline_config),
        )
