"""Retrains whose decisions wait for a person: an INVESTIGATE (the mock f1 of seed 42 on iris,
0.834, within the investigate band above min_metric 0.82) and a SHIP (seed 9, 0.925), through
the core steps and the promotion step, as the code location runs them."""

from pathlib import Path

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from verifily.approvals.review import open_for_run
from verifily.registry.ledger import ledger_path
from verifily.registry.promote import promote
from verifily.tracking.store import resolve_tracking_settings

INVESTIGATE_SEED, SHIP_SEED = 42, 9


def pipeline_config(tmp: Path, *, require_approval: bool = False, ttl: float = 168) -> Path:
    """A pipeline config where seed 42 is INVESTIGATE (and, optionally, SHIP waits too)."""
    p = tmp / f"pipeline-{int(require_approval)}-{ttl}.yaml"
    p.write_text(
        "min_metric: 0.82\ninvestigate_band: 0.02\n"
        f"require_approval: {str(require_approval).lower()}\napproval_ttl_hours: {ttl}\n"
    )
    return p


def decided_and_promoted(
    tmp: Path, seed: int, model: str = "m", *, config: Path | None = None, **kw
) -> tuple[Path, dict, dict | None]:
    """(run directory, what the promotion step did, the approval it opened or None)."""
    cfg = config or pipeline_config(tmp)
    resp = core_retrain(
        IRIS,
        tmp / "runs",
        seed=seed,
        project_id=model,
        against_champion=True,
        tracked=True,
        pipeline_config=str(cfg),
    )
    run_dir = Path(resp["run_dir"])
    moved = promote(resolve_tracking_settings(), run_dir, actor="test", ledger=ledger_path())
    return run_dir, moved, open_for_run(run_dir, opened_by="test", **kw)
