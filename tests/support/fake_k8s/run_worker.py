"""The run worker of the stand-in tests: what a run pod's `dagster api execute_run` does, run as
a local process so its environment (VERIFILY_EXECUTOR=k8s, RETRAINING_*) is its own.

Usage: python run_worker.py '<json spec>'; prints the run id and result. The spec is either
`{"model_id", "fields"}` (a retrain as the CLI's launcher builds it) or `{"sensor": name}` (one
tick of that sensor of the code location, then the run it requested).
"""

import json
import sys

import dagster as dg


def retrain_job():
    """The retrain job as the code location builds it (the step pods rebuild it the same way)."""
    from verifily_assets.definitions import defs

    return defs.resolve_job_def("retrain_job")


def sensor_request(instance: dg.DagsterInstance, name: str) -> dg.RunRequest:
    """The run request of one tick of the named sensor, its partitions registered."""
    from verifily_assets.definitions import defs

    sensor = defs.get_sensor_def(name)
    resources = {k: defs.resources[k] for k in sensor.required_resource_keys}
    result = sensor(dg.build_sensor_context(instance=instance, resources=resources))
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    assert result.run_requests, result.skip_reason
    return result.run_requests[0]


def built_request(spec: dict) -> dg.RunRequest:
    """The request the CLI's launcher makes for these fields (the one builder, no hand tags)."""
    from verifily.tags import TRIGGER_CLI
    from verifily_assets.run_config import retrain_run_config, retrain_tags

    model_id = spec["model_id"]
    return dg.RunRequest(
        partition_key=model_id,
        run_config=retrain_run_config(spec["fields"], model_id=model_id),
        tags=retrain_tags(model_id=model_id, trigger=TRIGGER_CLI),
    )


if __name__ == "__main__":
    from verifily_assets.partitions import ensure_model_partition

    spec = json.loads(sys.argv[1])
    with dg.DagsterInstance.get() as instance:
        req = sensor_request(instance, spec["sensor"]) if "sensor" in spec else built_request(spec)
        ensure_model_partition(instance, req.partition_key)
        # What the daemon adds when it launches a partition's run request.
        tags = {**req.tags, "dagster/partition": req.partition_key}
        result = dg.execute_job(
            dg.reconstructable(retrain_job),
            instance=instance,
            run_config=dict(req.run_config),
            tags=tags,
            raise_on_error=False,
        )
        print(json.dumps({"run_id": result.run_id, "success": result.success}))
