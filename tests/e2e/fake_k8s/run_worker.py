"""The run worker of the stand-in tests: what a run pod's `dagster api execute_run` does, run as
a local process so its environment (VERIFILY_EXECUTOR=k8s, RETRAINING_*) is its own.

Usage: python run_worker.py '<json: model_id, run_config, tags>'; prints the run id and result.
"""

import json
import sys

import dagster as dg


def retrain_job():
    """The retrain job as the code location builds it (the step pods rebuild it the same way)."""
    from verifily_assets.definitions import defs

    return defs.resolve_job_def("retrain_job")


if __name__ == "__main__":
    from verifily_assets.partitions import ensure_model_partition

    spec = json.loads(sys.argv[1])
    with dg.DagsterInstance.get() as instance:
        ensure_model_partition(instance, spec["model_id"])
        result = dg.execute_job(
            dg.reconstructable(retrain_job),
            instance=instance,
            run_config=spec["run_config"],
            tags={"dagster/partition": spec["model_id"], **spec["tags"]},
            raise_on_error=False,
        )
        print(json.dumps({"run_id": result.run_id, "success": result.success}))
