"""What a sensor starts: the retrain job and the code location's one builder of its run requests.

The composition root (`verifily_assets/definitions.py`) hands both to the sensor factories, so
sensors never import the code location that imports them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import dagster as dg

from verifily.feeds.window import DataWindow
from verifily.tags import MODEL_PARTITIONS_NAME


class RetrainRunRequests(Protocol):
    """Builds the run request of one retrain (`verifily_assets.run_config.retrain_run_request`)."""

    def __call__(
        self,
        fields: Mapping[str, object],
        *,
        model_id: str,
        trigger: str,
        run_key: str,
        window: DataWindow | None = None,
        extra_tags: Mapping[str, str] | None = None,
    ) -> dg.RunRequest: ...


@dataclass(frozen=True)
class RetrainTarget:
    """The job sensors request runs of, and how to build a request for it."""

    # What dg.define_asset_job returns; Dagster 1.13 does not export its type.
    job: Any
    run_request: RetrainRunRequests


def add_model_partitions(model_ids: list[str]) -> dg.AddDynamicPartitionsRequest:
    """The request that registers model ids as partitions of the retrain graph."""
    return dg.AddDynamicPartitionsRequest(
        partitions_def_name=MODEL_PARTITIONS_NAME, partition_keys=model_ids
    )
