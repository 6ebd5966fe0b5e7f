"""Keep one `model_id` partition per configured model, so every model has a history in the UI."""

import dagster as dg

from sensors.target import add_model_partitions
from verifily.config.models import configured_model_ids, models_config_path
from verifily.errors import InputError
from verifily.tags import MODEL_PARTITIONS_NAME


def missing_model_partitions(instance: dg.DagsterInstance) -> list[str]:
    """Configured model ids that have no partition yet (raises InputError for a bad file)."""
    known = set(instance.get_dynamic_partitions(MODEL_PARTITIONS_NAME))
    return [m for m in configured_model_ids() if m not in known]


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a model_id partition for every model in the models configuration.",
)
def model_partitions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Partitions are added, never removed: a model dropped from the file keeps its history."""
    try:
        new = missing_model_partitions(context.instance)
    except InputError as e:
        return dg.SkipReason(str(e))
    if not new:
        return dg.SkipReason(f"every model in {models_config_path()} has its partition")
    return dg.SensorResult(dynamic_partitions_requests=[add_model_partitions(new)])
