"""A retrain through the core steps alone (no Dagster), for tests of the run directory."""

from pathlib import Path

from verifily.dataset.verify import verify_artifact
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest


def core_retrain(dataset_dir: Path, out: Path, seed: int = 42, **fields) -> dict:
    req = RetrainRequest(dataset_dir=str(dataset_dir), output_dir=str(out), seed=seed, **fields)
    state = steps.start(req, verify_artifact(dataset_dir), run_id="test-run")
    return steps.publish(steps.decide(steps.evaluate(steps.train(state))))
