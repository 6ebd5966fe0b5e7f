"""A person's verdict on a pending decision, in the registry: approving moves `champion` by
compare-and-swap on the champion the decision compared with (never over a champion that moved
since), rejecting moves nothing; both are signed ledger entries naming who, when and why."""

from __future__ import annotations

import json
from pathlib import Path

from verifily.errors import Conflict
from verifily.registry.champion import CHAMPION, Holder, holders, verified_ledger
from verifily.registry.ledger import append_promotion
from verifily.registry.lock import model_lock
from verifily.registry.promote import mirror, next_version
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keys import KeyRing, Signer
from verifily.signing.keystore import signer as default_signer
from verifily.signing.keystore import trusted_keys
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.store import TrackingSettings


def _same(current: Holder | None, expected: dict | None) -> bool:
    if current is None or expected is None:
        return current is None and expected is None
    return (current.version, current.attestation_digest) == (
        str(expected.get("version")),
        expected.get("attestation_digest"),
    )


def _name(ref: dict | Holder | None) -> str:
    if ref is None:
        return "none"
    version = ref.version if isinstance(ref, Holder) else ref.get("version")
    return f"v{version}"


def verified_candidate(approval: dict, keys: KeyRing) -> str:
    """The approval's run directory re-verified: its attestation must still check and be the
    one the approval was opened for. Returns its digest; Conflict naming the problem otherwise."""
    check = verify_run_dir(approval["run_dir"], keys)
    if not check.valid:
        raise Conflict(
            f"approval {approval['approval_id']}: run {approval['run_dir']} does not verify "
            f"({check.reason()}); refusing to promote it"
        )
    if check.digest != approval["attestation_digest"]:
        raise Conflict(
            f"approval {approval['approval_id']}: run {approval['run_dir']} is not the run the "
            f"approval was opened for (attestation {str(check.digest)[:12]}…, approval "
            f"{approval['attestation_digest'][:12]}…); refusing to promote it"
        )
    return str(check.digest)


def _registered_for(check, model: str, run_dir: str, digest: str) -> str | None:
    """The version already registered for this run (its challenger move), if any."""
    for e in reversed(check.of(model)):
        d = e["details"]
        if d.get("run_dir") == run_dir and d.get("attestation_digest") == digest:
            if d.get("to_version") is not None:
                return str(d["to_version"])
    return None


def approve_move(
    settings: TrackingSettings,
    approval: dict,
    *,
    actor: str,
    reason: str,
    ledger: Path,
    keys: KeyRing | None = None,
    signer: Signer | None = None,
    outbox: TrackingOutbox | None = None,
) -> dict:
    """Move `champion` to the approved candidate, only while the ledger's champion is still
    the one its decision compared with; Conflict with the reason when it cannot."""
    keys = trusted_keys() if keys is None else keys
    digest = verified_candidate(approval, keys)
    d = Path(approval["run_dir"])
    meta = json.loads((d / "run_meta.json").read_text())
    model, mode = approval["model_id"], str(meta.get("mode") or "mock")
    signer = default_signer() if signer is None else signer
    with model_lock(model):
        check = verified_ledger(model, keys, ledger)
        holder = holders(check, model, mode).get(CHAMPION)
        expected = approval["champion"]
        if not _same(holder, expected):
            raise Conflict(
                f"approval {approval['approval_id']} refused: the champion of {model} moved "
                f"since the decision (it compared with {_name(expected)}, the champion is now "
                f"{_name(holder)}); nothing moved. Retrain against the new champion instead."
            )
        # The version its challenger move numbered, else the ledger's next number.
        version = _registered_for(check, model, str(d), digest) or next_version(check, model)
        previous = holder.version if holder else None
        entry = append_promotion(
            ledger,
            "approved",
            signer=signer,
            subject=(str(d), digest),
            model=model,
            alias=CHAMPION,
            mode=mode,
            actor=actor,
            decision=approval["recommendation"],
            approval_id=approval["approval_id"],
            run_dir=str(d),
            attestation_digest=digest,
            mlflow_run_id=meta.get("mlflow_run_id"),
            dagster_run_id=meta.get("dagster_run_id"),
            tracking_key=meta.get("tracking_key"),
            compared_with=expected,
            from_version=previous,
            to_version=version,
            why=[reason],
            tracking_uri=settings.tracking_uri,
        )
        # MLflow mirrors the ledger through the outbox, queued under the same lock (a version
        # its challenger move registered is found again, not registered twice).
        tracking_error = mirror(
            settings,
            meta.get("tracking_key"),
            {
                "model": model,
                "alias": CHAMPION,
                "version": version,
                "mode": mode,
                "run_dir": str(d),
                "decision": approval["recommendation"],
                "attestation_digest": digest,
                "dagster_run_id": meta.get("dagster_run_id"),
                "ledger": str(ledger),
            },
            outbox,
        )
    return {
        "moved": True,
        "model": model,
        "alias": CHAMPION,
        "from_version": previous,
        "version": version,
        "ledger_seq": entry["seq"],
        "ledger_entry_sha256": entry["entry_sha256"],
        **({"tracking_error": tracking_error} if tracking_error else {}),
    }


def record_verdict(
    approval: dict,
    event: str,
    *,
    actor: str,
    reason: str,
    ledger: Path,
    signer: Signer | None = None,
    **details: object,
) -> dict:
    """A signed ledger entry about an approval that moves nothing (opened, rejected, expired)."""
    champion = approval.get("champion") or {}
    entry = append_promotion(
        ledger,
        event,
        signer=default_signer() if signer is None else signer,
        subject=(approval["run_dir"], approval["attestation_digest"]),
        model=approval["model_id"],
        alias=CHAMPION,
        actor=actor,
        decision=approval["recommendation"],
        approval_id=approval["approval_id"],
        run_dir=approval["run_dir"],
        attestation_digest=approval["attestation_digest"],
        compared_with=approval.get("champion"),
        from_version=champion.get("version"),
        to_version=None,
        why=[reason],
        **details,
    )
    return {"ledger_seq": entry["seq"], "ledger_entry_sha256": entry["entry_sha256"]}
