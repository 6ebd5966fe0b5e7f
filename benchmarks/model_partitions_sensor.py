"""How long a model_partitions_sensor tick takes with many configured models.

The sensor runs every 30 s in the daemon. Reference: the one call it cannot avoid, reading
the instance's existing partitions; the ratio is what parsing the models file and computing
the missing ids add on top. Usage: python benchmarks/model_partitions_sensor.py [N_MODELS]
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from sensors.model_partitions import model_partitions_sensor
from verifily_assets.partitions import MODEL_PARTITIONS


def best_of(fn, repeat: int = 7) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main(n_models: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        ids = [f"model-{i:05d}" for i in range(n_models)]
        models = Path(tmp) / "models.yaml"
        models.write_text(
            "models:\n" + "".join(f"  - model_id: {m}\n    min_records: 50\n" for m in ids)
        )
        os.environ["VERIFILY_MODELS_CONFIG"] = str(models)
        instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ids)
        ctx = dg.build_sensor_context(instance=instance)
        result = model_partitions_sensor(ctx)
        assert isinstance(result, dg.SkipReason), result
        tick, tick_med = best_of(
            lambda: model_partitions_sensor(dg.build_sensor_context(instance=instance))
        )
        ref, ref_med = best_of(lambda: instance.get_dynamic_partitions(MODEL_PARTITIONS.name))
    print(f"models configured: {n_models}")
    for label, best, med in [
        ("sensor tick (all partitions present)", tick, tick_med),
        ("reference get_dynamic_partitions", ref, ref_med),
    ]:
        print(f"{label:38s} best {best * 1e3:.1f} ms, median {med * 1e3:.1f} ms")
    print(f"ratio tick / reference: {tick / ref:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
