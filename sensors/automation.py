"""Every automatic trigger of the code location, built from the models and monitors configs."""

import os
from pathlib import Path

import dagster as dg

from resources.feeds import feed_resource
from sensors.monitor import build_monitor_sensor
from sensors.record_count import build_record_count_sensor, feed_key
from sensors.run_status import build_run_status_sensors
from verifily.models_config import ModelsConfig, load_models_config
from verifily.monitors_config import load_monitors

MODELS_ENV = "VERIFILY_MODELS_CONFIG"
MONITORS_ENV = "VERIFILY_MONITORS_CONFIG"


def _config_path(env: str, default: str) -> Path | None:
    """The env var's file (must exist), else the default under the working directory if any."""
    if value := os.environ.get(env):
        return Path(value)
    p = Path(default)
    return p if p.is_file() else None


def automation() -> tuple[list[dg.SensorDefinition], dict]:
    """(sensors, feed resources): a record-count sensor per model, one per monitor, bookkeeping."""
    mp = _config_path(MODELS_ENV, "config/models.yaml")
    models = load_models_config(mp) if mp else ModelsConfig()
    sensors = [build_record_count_sensor(m, models) for m in models.models]
    resources = {feed_key(m.model_id): feed_resource(m.feed) for m in models.models}
    monp = _config_path(MONITORS_ENV, "config/monitors.yaml")
    for mon in load_monitors(monp) if monp else []:
        sensors.append(build_monitor_sensor(mon, models.sensor_interval_seconds, models.autostart))
    sensors += build_run_status_sensors(models.sensor_interval_seconds)
    return sensors, resources
