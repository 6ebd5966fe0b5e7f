"""How long a model_partitions_sensor tick takes with many configured models.

The sensor runs every 30 s in the daemon. Reference: the one call it cannot avoid, reading
the instance's existing partitions; the ratio is what parsing the models file and computing
the missing ids add on top.

Usage: .venv/bin/python benchmarks/model_partitions_sensor.py [N_MODELS] [--smoke]
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
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
        models.write_text("models:\n" + "".join(f"  - id: {m}\n    dataset_dir: ds\n" for m in ids))
        os.environ["VERIFILY_MODELS_CONFIG"] = str(models)
        instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ids)
        ctx = dg.build_sensor_context(instance=instance)
        result = model_partitions_sensor(ctx)
        # The steady state being timed: the file parses and every model has its partition.
        assert isinstance(result, dg.SkipReason), result
        assert "has its partition" in (result.skip_message or ""), result.skip_message
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
    # --smoke: a seconds-long run on tiny inputs (CI): proves the script runs, not the figure.
    argv = [a for a in sys.argv[1:] if a != "--smoke"]
    main(10 if "--smoke" in sys.argv else int(argv[0]) if argv else 1000)
