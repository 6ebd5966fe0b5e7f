"""Run the retrain steps the assets run, in this process, without Dagster (fast for data tests)."""

import json
from pathlib import Path

from verifily import retrain as core
from verifily.artifact import verify_artifact
from verifily.request import RetrainRequest


def run_core(dataset: Path, out: Path, seed: int = 42, **fields) -> dict:
    """start -> train -> evaluate -> decide -> publish; abandons the staging dir on any error."""
    req = RetrainRequest(
        dataset_dir=str(dataset), output_dir=str(out), mode="real", seed=seed, **fields
    )
    state: dict = {}
    try:
        state = core.start(req, verify_artifact(dataset))
        state = core.train(state)
        state = core.evaluate(state)
        state = core.decide(state)
        return core.publish(state)
    except BaseException:
        core.abandon(state)
        raise


def eval_results(response: dict) -> dict:
    return json.loads((Path(response["run_dir"]) / "eval" / "eval_results.json").read_text())
