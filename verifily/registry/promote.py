"""Registry promotion: SHIP moves `champion`, INVESTIGATE moves `challenger`, every move (and
every rollback) signed into the promotion ledger, the ledger's source of truth mirrored to
MLflow's aliases.

`champion` moves by compare-and-swap: under the model's promotion lock, only while the ledger's
champion is still the one the decision compared with. If it moved meanwhile, the candidate is
re-decided against the new champion's verified results first, and only a SHIP moves it; the
ledger entry names both. So each champion move's `from` is the previous move's `to`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from verifily.config.approval_policy import run_policy
from verifily.decision.rules import INVESTIGATE, SHIP
from verifily.errors import InputError
from verifily.registry.champion import CHALLENGER, CHAMPION, Holder, holders, verified_ledger
from verifily.registry.ledger import append_promotion
from verifily.registry.lock import model_lock
from verifily.registry.redecide import redecide, summary
from verifily.registry.versions import register_version, registered_model
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keys import KeyRing, Signer
from verifily.signing.keystore import signer as default_signer
from verifily.signing.keystore import trusted_keys
from verifily.tags import MLFLOW_RUN_DIR
from verifily.tracking.store import TrackingSettings, mlflow_client

ALIAS_FOR = {SHIP: CHAMPION, INVESTIGATE: CHALLENGER}


def _same(current: Holder | None, expected: dict | None) -> bool:
    """Whether the ledger's champion is still the one a decision compared with."""
    if current is None or expected is None:
        return current is None and expected is None
    return (current.version, current.attestation_digest) == (
        str(expected.get("version")),
        expected.get("attestation_digest"),
    )


def promote(
    settings: TrackingSettings,
    run_dir: str | os.PathLike,
    *,
    actor: str,
    ledger: Path,
    experiment: str | None = None,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
) -> dict:
    """Apply a published retrain's decision to the registry; returns what moved (or why not).

    The champion it expects is the one its decision recorded (`decision.json`'s `champion`).
    A SHIP whose pipeline config says `require_approval: true` moves nothing: it waits for a
    person (verifily.approvals).
    """
    d = Path(run_dir)
    decision = json.loads((d / "decision" / "decision.json").read_text())
    if decision["recommendation"] == SHIP and run_policy(d).require_approval:
        meta = json.loads((d / "run_meta.json").read_text())
        return {
            "moved": False,
            "model": meta["project_id"],
            "alias": CHAMPION,
            "reason": "held for approval (the pipeline config says require_approval: true)",
            "held_for_approval": True,
        }
    return promote_candidate(
        settings,
        d,
        expected=decision.get("champion"),
        actor=actor,
        ledger=ledger,
        experiment=experiment,
        keys=keys,
        signer=signer,
    )


def promote_candidate(
    settings: TrackingSettings,
    run_dir: str | os.PathLike,
    *,
    expected: dict | None,
    actor: str,
    ledger: Path,
    experiment: str | None = None,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
) -> dict:
    """Compare-and-swap: move the alias the candidate's decision calls for, `champion` only
    while the ledger's champion is `expected` ({version, attestation_digest} or None for "no
    champion"), else after a re-decision against the champion now in place.

    The candidate's run directory must verify. Returns what moved, or why nothing did.
    """
    d = Path(run_dir)
    keys = trusted_keys() if keys is None else keys
    check = verify_run_dir(d, keys)
    meta = json.loads((d / "run_meta.json").read_text())
    decision = json.loads((d / "decision" / "decision.json").read_text())
    model, rec = meta["project_id"], decision["recommendation"]
    alias = ALIAS_FOR.get(rec)

    def refused(reason: str, **extra: object) -> dict:
        return {"moved": False, "model": model, "alias": alias, "reason": reason, **extra}

    if not check.valid:
        return refused(f"the candidate run does not verify: {check.reason()}")
    if alias is None:
        return {"moved": False, "model": model, "alias": None, "reason": f"{rec} moves no alias"}
    if not meta.get("mlflow_run_id") or meta.get("mlflow_error"):
        return refused("the retrain has no MLflow run (tracking was off or unavailable)")
    signer = default_signer() if signer is None else signer
    subject = (str(d), str(check.digest))
    common = {
        "model": model,
        "alias": alias,
        "actor": actor,
        "decision": rec,
        "run_dir": str(d),
        "attestation_digest": check.digest,
        "mlflow_run_id": meta["mlflow_run_id"],
        "dagster_run_id": meta.get("dagster_run_id"),
        "compared_with": expected,
    }
    with model_lock(model):
        current = holders(verified_ledger(model, keys, ledger), model)
        holder = current.get(alias)
        redecision = None
        if alias == CHAMPION and not _same(holder, expected):
            redecision = redecide(decision, holder, keys)
            if redecision["recommendation"] != SHIP:
                entry = append_promotion(
                    ledger,
                    "champion_kept",
                    signer=signer,
                    subject=subject,
                    **common,
                    from_version=holder.version if holder else None,
                    to_version=None,
                    redecided_against=holder.ref() if holder else None,
                    redecision=summary(redecision),
                    why=[f["message"] for f in redecision["rules_fired"]],
                    tracking_uri=settings.tracking_uri,
                )
                return refused(
                    f"champion moved to {_name(holder)} after the decision; re-decided "
                    f"against it: {redecision['recommendation']}",
                    redecision=summary(redecision),
                    ledger_seq=entry["seq"],
                    ledger_entry_sha256=entry["entry_sha256"],
                )
        previous = holder.version if holder else None
        meta = {**meta, "run_dir": str(d)}
        rm = registered_model(mlflow_client(settings), model)
        version = register_version(
            settings, model, d, meta, registered=rm is not None, experiment=experiment
        )
        why = redecision or decision
        entry = append_promotion(
            ledger,
            "alias_moved",
            signer=signer,
            subject=subject,
            **common,
            from_version=previous,
            to_version=version,
            why=[f["message"] for f in why["rules_fired"]],
            baseline=(why.get("baseline") or {}).get("source"),
            **(
                {
                    "redecided_against": holder.ref() if holder else None,
                    "redecision": summary(redecision),
                }  # fmt: skip
                if redecision
                else {}
            ),
            tracking_uri=settings.tracking_uri,
        )
        # MLflow mirrors the ledger: moved after the ledger records it, under the same lock.
        mlflow_client(settings).set_registered_model_alias(model, alias, version)
    return {
        "moved": True,
        "model": model,
        "alias": alias,
        "from_version": previous,
        "version": version,
        "ledger_seq": entry["seq"],
        "ledger_entry_sha256": entry["entry_sha256"],
        **({"redecision": summary(redecision)} if redecision else {}),
    }


def _name(holder: Holder | None) -> str:
    return f"v{holder.version}" if holder else "none"


def rollback(
    settings: TrackingSettings,
    model: str,
    to_version: str,
    *,
    actor: str,
    reason: str,
    ledger: Path,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
) -> dict:
    """Move `champion` back to an earlier version of the model, recorded in the ledger.

    The version's run directory must verify (and be the run the ledger promoted, when the
    ledger knows it): a run anyone could have rewritten never becomes champion.
    """
    from mlflow.exceptions import MlflowException

    keys = trusted_keys() if keys is None else keys
    client = mlflow_client(settings)
    if registered_model(client, model) is None:
        raise InputError(f"model {model!r} is not registered in {settings.tracking_uri}")
    try:
        mv = client.get_model_version(model, str(to_version))
    except MlflowException as e:
        if e.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise InputError(f"model {model!r} has no version {to_version}") from None
        raise
    version = str(mv.version)
    signer = default_signer() if signer is None else signer
    with model_lock(model):
        check = verified_ledger(model, keys, ledger)
        known = [
            e["details"]
            for e in check.of(model)
            if e["details"].get("to_version") == version and e["details"].get("attestation_digest")
        ]
        run_dir = known[-1]["run_dir"] if known else mv.tags.get(MLFLOW_RUN_DIR)
        if not run_dir:
            raise InputError(f"{model} v{version} names no run directory; cannot verify it")
        target = verify_run_dir(run_dir, keys)
        if not target.valid:
            raise InputError(
                f"{model} v{version}: run {run_dir} does not verify ({target.reason()}); "
                "refusing to make it champion"
            )
        if known and known[-1]["attestation_digest"] != target.digest:
            raise InputError(
                f"{model} v{version}: run {run_dir} is not the run the ledger promoted; "
                "refusing to make it champion"
            )
        holder = holders(check, model).get(CHAMPION)
        entry = append_promotion(
            ledger,
            "rollback",
            signer=signer,
            subject=(str(run_dir), str(target.digest)),
            model=model,
            alias=CHAMPION,
            from_version=holder.version if holder else None,
            to_version=version,
            actor=actor,
            why=[reason],
            decision=None,
            run_dir=str(run_dir),
            attestation_digest=target.digest,
            mlflow_run_id=mv.run_id,
            tracking_uri=settings.tracking_uri,
        )
        client.set_registered_model_alias(model, CHAMPION, version)
    return {
        "model": model,
        "from_version": holder.version if holder else None,
        "version": version,
        **entry,
    }
