"""Re-deciding a candidate against a champion that moved after its decision was made.

The candidate's run directory is never written again; the re-decision is recorded in the
ledger entry (and the promotion's metadata) instead.
"""

from __future__ import annotations

from verifily.config.pipeline import Thresholds
from verifily.decision import rules
from verifily.registry.champion import Holder, champion_results
from verifily.signing.keys import KeyRing


def redecide(decision: dict, champion: Holder | None, keys: KeyRing) -> dict:
    """The candidate's decision record, re-made with the same metrics, thresholds and gates
    against `champion`'s verified results (an unverifiable champion is INVESTIGATE)."""
    baseline = champion_results(champion, keys) if champion is not None else None
    return rules.decide(
        decision["candidate_metrics"],
        Thresholds(**decision["thresholds"]),
        baseline_metrics=baseline.value if baseline else None,
        baseline_label=champion.label() if champion else None,
        baseline_digest=baseline.attestation_digest if baseline else None,
        baseline_error=baseline.error if baseline else None,
        champion=champion.ref() if champion else None,
        # The gates as the decision found them (the contaminated run's among them): they
        # describe the candidate, which has not changed.
        gates=decision.get("gates", []),
        keys=keys,
    )


def summary(decision: dict) -> dict:
    """What a ledger entry keeps of a (re-)decision."""
    return {
        "recommendation": decision["recommendation"],
        "rules": [f["rule"] for f in decision["rules_fired"]],
        "why": [f["message"] for f in decision["rules_fired"]],
        "baseline": (decision.get("baseline") or {}).get("source"),
    }
