"""Who is champion of a model, as the signed ledger records it (the source of truth; MLflow's
alias mirrors it), and the champion's verified results as the next retrain's baseline.

`current_champion(model)` answers "who is champion of model M, with which run directory and
attestation digest" in one call, for the decision, the compare-and-swap promotion and anyone
re-scoring the champion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from verifily.decision.references import Reference, verified_run
from verifily.registry.ledger import LedgerCheck, LedgerError, ledger_path, verify_ledger
from verifily.rundir.audit import append_audit
from verifily.signing.keys import KeyRing
from verifily.signing.keystore import trusted_keys

CHAMPION, CHALLENGER = "champion", "challenger"
# Mock and real candidates never compare with each other's champion: each mode has its own
# line of holders in the ledger (an entry's `mode`; entries from before modes were kept apart
# carry none and count as mock, the only mode that promoted then by default).
DEFAULT_MODE = "mock"
# Ledger events that move an alias (`champion_kept` records a refused move; `approved` is a
# person's approval of a pending decision, moving `champion`).
MOVES = ("alias_moved", "rollback", "approved")


@dataclass(frozen=True)
class Holder:
    """The version holding an alias, and the run it came from, per the ledger."""

    model: str
    alias: str
    version: str
    run_dir: str | None
    attestation_digest: str | None
    ledger_seq: int

    def ref(self) -> dict:
        """How decisions and ledger entries name it."""
        return {
            "version": self.version,
            "run_dir": self.run_dir,
            "attestation_digest": self.attestation_digest,
            "ledger_seq": self.ledger_seq,
        }

    def label(self) -> str:
        return f"{self.alias} {self.model} v{self.version} (ledger entry #{self.ledger_seq})"


def entry_mode(details: dict) -> str:
    """The mode of the candidate a ledger entry is about."""
    return str(details.get("mode") or DEFAULT_MODE)


def holders(check: LedgerCheck, model: str, mode: str = DEFAULT_MODE) -> dict[str, Holder]:
    """{alias: holder} among `mode`'s candidates after replaying the model's moves in a
    verified ledger."""
    out: dict[str, Holder] = {}
    for e in check.of(model):
        d = e["details"]
        if e["event"] in MOVES and d.get("to_version") is not None and entry_mode(d) == mode:
            out[d["alias"]] = Holder(
                model,
                d["alias"],
                str(d["to_version"]),
                d.get("run_dir"),
                d.get("attestation_digest"),
                int(e["seq"]),
            )
    return out


def verified_ledger(model: str, keys: KeyRing, ledger: Path | None = None) -> LedgerCheck:
    """The ledger, verified for `model`; LedgerError naming the first bad entry otherwise."""
    path = ledger or ledger_path()
    check = verify_ledger(path, keys, model)
    if check.problems:
        raise LedgerError(f"promotion ledger {path} does not verify: {check.problems[0]}")
    return check


def current_champion(
    model: str,
    *,
    mode: str = DEFAULT_MODE,
    ledger: Path | None = None,
    keys: KeyRing | None = None,
) -> Holder | None:
    """The champion of `model` among `mode`'s candidates per the verified ledger (None when
    there is none yet)."""
    check = verified_ledger(model, trusted_keys() if keys is None else keys, ledger)
    return holders(check, model, mode).get(CHAMPION)


def champion_results(holder: Holder, keys: KeyRing) -> Reference:
    """The champion's eval metrics, from its run directory, only if that run verifies and is
    the very run the ledger promoted (same attestation digest)."""
    if not holder.run_dir:
        return Reference("", error=f"{holder.label()} names no run directory")
    ref = verified_run(holder.run_dir, keys, holder.label())
    if ref.error:
        return ref
    if ref.attestation_digest != holder.attestation_digest:
        return Reference(
            holder.run_dir,
            error=f"{holder.label()}: run directory {holder.run_dir} is not the run the ledger "
            f"promoted (attestation {str(ref.attestation_digest)[:12]}…, ledger "
            f"{str(holder.attestation_digest)[:12]}…)",
        )
    try:
        results = json.loads((Path(holder.run_dir) / "eval" / "eval_results.json").read_text())
        metrics = results["metrics"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return Reference(holder.run_dir, error=f"{holder.label()}: eval results unreadable: {e}")
    return Reference(holder.run_dir, ref.attestation_digest, metrics)


@dataclass(frozen=True)
class ChampionBaseline:
    """What a decision compares with when the request names no baseline run."""

    champion: dict | None = None
    metrics: dict | None = None
    label: str | None = None
    digest: str | None = None
    error: str | None = None


def champion_baseline(state: dict, keys: KeyRing | None = None) -> ChampionBaseline:
    """The champion a retrain's decision is made against, and (when the request names no
    base_run_dir) its verified metrics as the baseline.

    A ledger or champion run that does not verify is never compared with: `error` says why,
    and the decision is INVESTIGATE (`baseline_unavailable`).
    """
    req = state["request"]
    model = req["project_id"]
    keys = trusted_keys() if keys is None else keys
    try:
        holder = current_champion(model, mode=req.get("mode") or DEFAULT_MODE, keys=keys)
    except LedgerError as e:
        return ChampionBaseline(label=f"champion {model} (unknown)", error=str(e))
    if holder is None:
        return ChampionBaseline()
    if req.get("base_run_dir"):
        return ChampionBaseline(champion=holder.ref())
    found = champion_results(holder, keys)
    if found.error:
        return ChampionBaseline(holder.ref(), label=holder.label(), error=found.error)
    append_audit(
        state["staging_dir"],
        "baseline_from_champion",
        model=model,
        version=holder.version,
        champion_run_dir=holder.run_dir,
        attestation_digest=holder.attestation_digest,
        metrics=found.value,
    )
    return ChampionBaseline(holder.ref(), found.value, holder.label(), found.attestation_digest)


def ledger_aliases(
    model: str, mode: str = DEFAULT_MODE, *, ledger: Path | None = None, keys: KeyRing | None = None
) -> dict[str, str]:
    """{alias: version} of `model`'s `mode` candidates per the verified ledger: what MLflow's
    aliases mirror (for real mode) once the tracking outbox is drained."""
    check = verified_ledger(model, trusted_keys() if keys is None else keys, ledger)
    return {alias: h.version for alias, h in holders(check, model, mode).items()}
