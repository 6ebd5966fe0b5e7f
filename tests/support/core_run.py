"""Run the retrain steps the assets run, in this process, without Dagster (fast for data tests)."""

import json
from pathlib import Path

from verifily.dataset.verify import verify_artifact
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest


def run_core(dataset: Path, out: Path, seed: int = 42, **fields) -> dict:
    """start -> train -> evaluate -> decide -> publish; abandons the staging dir on any error."""
    req = RetrainRequest(
        dataset_dir=str(dataset), output_dir=str(out), mode="real", seed=seed, **fields
    )
    state: dict = {}
    try:
        state = steps.start(req, verify_artifact(dataset))
        state = steps.train(state)
        state = steps.evaluate(state)
        state = steps.decide(state)
        return steps.publish(state)
    except BaseException:
        steps.abandon(state)
        raise


def eval_results(response: dict) -> dict:
    return json.loads((Path(response["run_dir"]) / "eval" / "eval_results.json").read_text())
