"""Every automatic trigger of the code location, built from the models and monitors configs."""

import dagster as dg

from resources.feeds import feed_resource
from sensors.monitor import build_monitor_sensor
from sensors.record_count import build_record_count_sensor, feed_key
from sensors.run_status import build_run_status_sensors
from sensors.target import RetrainTarget
from verifily.config.models import configured_models
from verifily.config.monitors import configured_monitors


def automation(target: RetrainTarget) -> tuple[list[dg.SensorDefinition], dict]:
    """(sensors, feed resources): a record-count sensor per model with a feed, one per monitor,
    and the run-status bookkeeping."""
    models = configured_models()
    fed = [m for m in models.models if m.feed is not None]
    sensors = [build_record_count_sensor(m, models, target) for m in fed]
    resources = {feed_key(m.model_id): feed_resource(m.feed) for m in fed if m.feed is not None}
    for mon in configured_monitors():
        sensors.append(
            build_monitor_sensor(mon, target, models.sensor_interval_seconds, models.autostart)
        )
    sensors += build_run_status_sensors(models.sensor_interval_seconds, target.job)
    return sensors, resources
