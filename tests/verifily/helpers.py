"""A retrain through the core steps alone (no Dagster), for tests of the run directory."""

from pathlib import Path

from verifily import retrain as core
from verifily.artifact import verify_artifact
from verifily.request import RetrainRequest


def core_retrain(dataset_dir: Path, out: Path, seed: int = 42, **fields) -> dict:
    req = RetrainRequest(dataset_dir=str(dataset_dir), output_dir=str(out), seed=seed, **fields)
    state = core.start(req, verify_artifact(dataset_dir), run_id="test-run")
    return core.publish(core.decide(core.evaluate(core.train(state))))
