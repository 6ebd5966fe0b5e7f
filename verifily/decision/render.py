"""The decision as a person reads it in a run directory: `decision/decision.txt`."""

from __future__ import annotations


def render_decision_text(decision: dict) -> str:
    """The human-readable `decision.txt`."""
    lines = [f"Decision: {decision['recommendation']}", ""]
    lines.append("Why:")
    lines += [f"  - [{f['outcome']}] {f['rule']}: {f['message']}" for f in decision["rules_fired"]]
    lines += ["", "Metrics:"]
    for k, v in sorted(decision["candidate_metrics"].items()):
        d = decision["deltas"].get(k)
        lines.append(f"  {k}: {v:.4f}" + (f" ({d:+.4f} vs baseline)" if d is not None else ""))
    base = decision.get("baseline")
    lines += ["", f"Baseline: {base['source'] if base else 'none'}", "", "Gates:"]
    for g in decision["gates"]:
        state = {True: "pass", False: "FAIL", None: "unknown"}[g.get("passed")]
        lines.append(f"  {g['name']}: {state} {g.get('detail', '')}".rstrip())
    lines += ["", "Thresholds:"]
    lines += [f"  {k}: {v}" for k, v in decision["thresholds"].items()]
    return "\n".join(lines) + "\n"
