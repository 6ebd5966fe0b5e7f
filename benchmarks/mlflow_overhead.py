"""MLflow's added time per retrain: untracked vs the SQLite store vs a local `mlflow server`.

Since the tracking outbox, "tracked" means the retrain's writes are queued in the outbox (the
drainer applies them after the retrain, untimed here): what is measured is what tracking still
costs the retrain itself.

Targets (issue 5): at most 0.5 s added on the SQLite store and 1 s through a local server.
Every variant runs the same full retrain job (Dagster, in process) on the iris example,
interleaved round by round so machine load hits all three alike; medians are compared. One
warm-up retrain per variant pays the one-time costs (imports, store migrations, server start).

    .venv/bin/python benchmarks/mlflow_overhead.py [--rounds 5] [--smoke]
"""

import argparse
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP

from tests.support.examples import IRIS

TRACKING_CALLS = {
    "verifily_assets.tracking": ["open_retrain_run"],
    "verifily_assets.training": ["log_evaluation"],
    "verifily_assets.decision": ["log_decision", "log_attestation"],
    "verifily_assets.promotion": ["promote", "record_finish"],
}


def time_tracking_calls(spent: list[float]) -> None:
    """Wrap every tracking entry point the assets call, adding its wall time to spent[0].

    The end-to-end difference of ~4 s jobs drowns in the noise of a shared machine; the time
    spent inside the tracking calls themselves is the direct measure of what MLflow adds.
    """
    import importlib

    for module_name, names in TRACKING_CALLS.items():
        module = importlib.import_module(module_name)
        for name in names:
            fn = getattr(module, name)

            def timed(*a, _fn=fn, **kw):
                t0 = time.perf_counter()
                try:
                    return _fn(*a, **kw)
                finally:
                    spent[0] += time.perf_counter() - t0

            setattr(module, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.rounds = 1
    tmp = Path(tempfile.mkdtemp(prefix="verifily-mlflow-bench-"))
    os.environ["DAGSTER_HOME"] = str(tmp / "dagster")
    (tmp / "dagster").mkdir()
    (tmp / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_ARTIFACT_URI", "VERIFILY_MLFLOW_CONFIG"):
        os.environ.pop(key, None)

    import dagster as dg

    from tests.support.mlflow_server import free_port, running_mlflow_server
    from verifily_assets.launch import run_retrain

    spent = [0.0]
    time_tracking_calls(spent)
    inside: dict[str, list[float]] = {"sqlite": [], "server": []}
    server = contextlib.ExitStack()
    url = server.enter_context(running_mlflow_server(tmp, tmp / "server.db", free_port()))
    variants = {
        "untracked": {"VERIFILY_MLFLOW_ENABLED": "0"},
        "sqlite": {"VERIFILY_MLFLOW_ENABLED": "1", "MLFLOW_TRACKING_URI": None},
        "server": {"VERIFILY_MLFLOW_ENABLED": "1", "MLFLOW_TRACKING_URI": url},
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    try:
        with dg.DagsterInstance.get() as instance:
            for rnd in range(args.rounds + 1):
                for name, env in variants.items():
                    for k, v in env.items():
                        if v is None:
                            os.environ.pop(k, None)
                        else:
                            os.environ[k] = v
                    t0, spent[0] = time.perf_counter(), 0.0
                    run_retrain(
                        {
                            "dataset_dir": str(IRIS),
                            "output_dir": str(tmp / "runs" / name),
                            "project_id": "iris",  # one model: the stores are separate
                            "seed": rnd,
                        },
                        instance=instance,
                        log_level="CRITICAL",
                    )
                    if rnd:  # round 0 is the warm-up
                        times[name].append(time.perf_counter() - t0)
                        if name in inside:
                            inside[name].append(spent[0])
    finally:
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)

    # Medians and minimums both: on a shared, loaded machine the minimum is the better
    # estimate of the intrinsic cost, the median of what a user sees.
    print(f"retrain (iris, mock, full Dagster job), {args.rounds} rounds after a warm-up")
    base_med, base_min = statistics.median(times["untracked"]), min(times["untracked"])
    print(f"  untracked (reference): median {base_med:.3f} s, min {base_min:.3f} s")
    for name, limit in (("sqlite", 0.5), ("server", 1.0)):
        med, low = statistics.median(times[name]), min(times[name])
        added = med - base_med
        print(
            f"  {name:<8} median {med:.3f} s added {added:+.3f} s ratio {med / base_med:.3f}x | "
            f"min {low:.3f} s added {low - base_min:+.3f} s ratio {low / base_min:.3f}x "
            f"(end to end)"
        )
        direct = statistics.median(inside[name])
        verdict = "OK" if direct <= limit else "OVER"
        print(
            f"  {name:<8} time inside MLflow tracking calls per retrain: median {direct:.3f} s, "
            f"max {max(inside[name]):.3f} s = {direct / base_med:.1%} of an untracked retrain "
            f"(target <= {limit} s: {verdict})"
        )


if __name__ == "__main__":
    main()
