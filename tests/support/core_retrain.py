"""A retrain through the core steps alone (no Dagster), for tests of the run directory and of
promotion."""

from pathlib import Path

from verifily.contamination.report import write_report
from verifily.dataset.verify import verify_artifact
from verifily.registry.champion import champion_baseline
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest
from verifily.signing.keys import Signer
from verifily.tracking.record import open_retrain_run
from verifily.tracking.store import resolve_tracking_settings


def core_retrain(
    dataset_dir: Path,
    out: Path,
    seed: int = 42,
    *,
    contamination: dict | None = None,
    signer: Signer | None = None,
    against_champion: bool = False,
    tracked: bool = False,
    **fields,
) -> dict:
    """start -> train -> evaluate -> decide -> publish, signed by `signer` (default: the
    session key). `contamination` is sealed into the run as its contamination.json;
    `against_champion` decides against the ledger's champion as the `decision` asset does;
    `tracked` opens the retrain's MLflow run (which promotion needs)."""
    req = RetrainRequest(dataset_dir=str(dataset_dir), output_dir=str(out), seed=seed, **fields)
    state = steps.start(req, verify_artifact(dataset_dir), run_id="test-run")
    if contamination is not None:
        write_report(state["staging_dir"], contamination)
    if tracked:
        state, warning = open_retrain_run(
            resolve_tracking_settings(), state, dagster_run_id=None, trigger="test"
        )
        assert warning is None, warning
    state = steps.evaluate(steps.train(state))
    champion = champion_baseline(state) if against_champion else None
    return steps.publish(steps.decide(state, champion=champion), signer=signer)
