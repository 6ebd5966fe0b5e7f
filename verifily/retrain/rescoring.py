"""Scoring the baseline's saved model on the candidate's evaluation split (real mode), so the
decision compares the two on identical records.

The baseline is the request's base_run_dir, otherwise the ledger's champion. Its run directory
must verify (and, for the champion, be the very run the ledger promoted) before its pickled
model is loaded. Anything that stops the re-scoring is recorded as `why`, never raised: the
decision then falls back to the recorded number and says so (`baseline_not_rescored`).
"""

from __future__ import annotations

import json
from pathlib import Path

from verifily.dataset.evalsplit import eval_records
from verifily.decision.references import Reference, verified_run
from verifily.errors import VerifilyError
from verifily.registry.champion import DEFAULT_MODE, champion_results, current_champion
from verifily.registry.ledger import LedgerError
from verifily.rundir.audit import append_audit
from verifily.signing.keys import KeyRing
from verifily.signing.keystore import trusted_keys
from verifily.training.interface import Progress
from verifily.training.outcomes import BASELINE_PREDICTIONS_FILE


def baseline_run(state: dict, keys: KeyRing) -> Reference | None:
    """The verified baseline run the decision will compare with (None: there is none)."""
    req = state["request"]
    if req.get("base_run_dir"):
        return verified_run(req["base_run_dir"], keys, "baseline")
    try:
        holder = current_champion(
            req["project_id"], mode=req.get("mode") or DEFAULT_MODE, keys=keys
        )
    except LedgerError as e:
        return Reference("", error=str(e))
    return None if holder is None else champion_results(holder, keys)


def rescore_baseline(
    state: dict, keys: KeyRing | None = None, progress: Progress | None = None
) -> dict:
    """Predict the candidate's eval split with the baseline's model; write
    eval/baseline_predictions.jsonl. Returns {run_dir, attestation_digest, rescored, why,
    metrics} (`metrics`: the baseline's on these records), or {} when there is no baseline."""
    # Imported here: scikit-learn and joblib cost a second of startup that mock runs skip.
    import joblib

    from verifily.training.metrics import compute_metrics
    from verifily.training.run import MODEL_CARD, MODEL_FILE, predict_split, write_predictions

    say = progress or (lambda _: None)
    ref = baseline_run(state, trusted_keys() if keys is None else keys)
    if ref is None:
        return {}
    out = {"run_dir": ref.run_dir, "attestation_digest": ref.attestation_digest}
    if ref.error:
        return {**out, "rescored": False, "why": ref.error}
    d, info = Path(ref.run_dir), state["model"]
    why = None
    try:
        card = json.loads((d / MODEL_CARD).read_text())
    except FileNotFoundError:
        card, why = {}, f"{d} has no saved model ({MODEL_CARD}): a mock run, or one made before"
    except (OSError, ValueError) as e:
        card, why = {}, f"{d / MODEL_CARD} is unreadable: {e}"
    if why is None and card.get("output_kind") != info["output_kind"]:
        why = (
            f"the baseline predicts {card.get('output_kind')} outputs, the candidate "
            f"{info['output_kind']}: not comparable record by record"
        )
    model = None
    if why is None:
        try:
            model = joblib.load(d / MODEL_FILE)
        except Exception as e:  # a bring-your-own trainer's module may be gone
            why = f"the baseline model {d / MODEL_FILE} cannot be loaded: {type(e).__name__}: {e}"
    if why is not None or model is None:
        return {**out, "rescored": False, "why": why}
    records = eval_records(state["dataset"]["path"])
    try:
        preds = predict_split(model, card.get("trainer", "?"), records, say, "records (baseline)")
        tol = info["numeric_tolerance"]
        truths = [r["output"] for r in records]
        metrics = compute_metrics(
            info["output_kind"], preds, truths, abs_tol=tol["abs"], rel_tol=tol["rel"]
        )
    except (VerifilyError, ValueError) as e:
        return {**out, "rescored": False, "why": f"the baseline model failed on this split: {e}"}
    staging = Path(state["staging_dir"])
    write_predictions(
        staging / BASELINE_PREDICTIONS_FILE, [r.get("id") for r in records], truths, preds
    )
    append_audit(
        staging,
        "baseline_rescored",
        baseline_run_dir=ref.run_dir,
        attestation_digest=ref.attestation_digest,
        metrics=metrics,
    )
    return {**out, "rescored": True, "why": None, "metrics": metrics}
