"""What webhooks and approvals add to a retrain: the events a retrain emits are stored in the
outbox (one INSERT each) and never sent from the retrain, so a receiver that is down costs it
nothing. Medians of --reps, in this process, SQLite jobs database (the local default):

- emitting one event with two receivers subscribed (config read, body, one INSERT);
- emitting with no webhooks configured (the cost every deployment pays);
- opening an approval for an INVESTIGATE run (verify the run, INSERT, a signed ledger entry);
- reference: a core retrain of the bundled example (start -> publish, signed), same run.
"""

import argparse
import os
import tempfile
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP, median_seconds

from tests.support.examples import IRIS
from tests.support.keys import write_private_key


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.reps = 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = root / "signing.pem"
        write_private_key(key)
        os.environ["VERIFILY_SIGNING_KEY"] = str(key)
        os.environ["DAGSTER_HOME"] = str(root / "state" / "dagster")
        os.environ.pop("VERIFILY_STATE_DIR", None)
        os.environ.pop("VERIFILY_JOBS_DB_URL", None)
        run(root, args)


def run(root: Path, args) -> None:
    from verifily.approvals.approval_store import ApprovalStore
    from verifily.approvals.review import open_for_run
    from verifily.dataset.verify import verify_artifact
    from verifily.outbox.messages import Outbox
    from verifily.retrain import steps
    from verifily.retrain.request import RetrainRequest
    from verifily.webhooks.emit import notify

    dataset = verify_artifact(IRIS)
    pipeline = root / "pipeline.yaml"
    pipeline.write_text("min_metric: 0.82\ninvestigate_band: 0.02\n")

    def retrain(seed: int = 42) -> dict:
        req = RetrainRequest(
            dataset_dir=str(IRIS), output_dir=str(root / "runs"), seed=seed,
            pipeline_config=str(pipeline),
        )  # fmt: skip
        state = steps.decide(steps.evaluate(steps.train(steps.start(req, dataset, "bench"))))
        return steps.publish(state)

    # The tables exist before timing, as in any running deployment.
    Outbox()
    ApprovalStore()
    retrain_ms = 1000 * median_seconds(retrain, args.reps)
    hooks = root / "webhooks.yaml"
    hooks.write_text(
        "webhooks:\n"
        "  - {name: a, url: 'http://127.0.0.1:9/a', events: [decision], secret_env: S}\n"
        "  - {name: b, url: 'http://127.0.0.1:9/b', events: [decision], secret_env: S}\n"
    )
    data = {"model": "iris", "recommendation": "INVESTIGATE", "rules_fired": [{"rule": "x"}]}
    os.environ.pop("VERIFILY_WEBHOOKS_CONFIG", None)
    cwd = os.getcwd()
    os.chdir(root)  # no config/webhooks.yaml here: "none configured"
    try:
        none_ms = 1000 * median_seconds(lambda: notify("decision", data), args.reps)
    finally:
        os.chdir(cwd)
    os.environ["VERIFILY_WEBHOOKS_CONFIG"] = str(hooks)
    emit_ms = 1000 * median_seconds(lambda: notify("decision", data), args.reps)
    runs = [Path(retrain()["run_dir"]) for _ in range(args.reps)]
    it = iter(runs)
    open_ms = 1000 * median_seconds(lambda: open_for_run(next(it), opened_by="bench"), args.reps)
    if args.smoke:
        print("smoke run: timings not meaningful; ratio printed for the check only")
    print(f"core retrain (reference):          {retrain_ms:8.2f} ms")
    print(f"emit, no webhooks configured:      {none_ms:8.3f} ms  ratio {none_ms / retrain_ms:.4f}")
    print(f"emit, two receivers (2 INSERTs):   {emit_ms:8.3f} ms  ratio {emit_ms / retrain_ms:.4f}")
    print(f"open an approval (INVESTIGATE):    {open_ms:8.3f} ms  ratio {open_ms / retrain_ms:.4f}")
    per_retrain = 3 * emit_ms + open_ms
    print(
        f"an INVESTIGATE retrain's events and approval: {per_retrain:.2f} ms, "
        f"ratio {per_retrain / retrain_ms:.3f} of the core retrain"
    )


if __name__ == "__main__":
    main()
