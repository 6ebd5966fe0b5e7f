"""The decision as a person reads it in a run directory: `decision/decision.txt`."""

from __future__ import annotations


def _iv(iv: list | None, signed: bool = True) -> str:
    if not iv:
        return ""
    f = "{:+.4f}" if signed else "{:.4f}"
    return f"[{f.format(iv[0])}, {f.format(iv[1])}]"


def rescoring_line(decision: dict) -> str:
    """Whether the baseline was scored on the candidate's records, and on which split."""
    base = decision.get("baseline") or {}
    if "rescored" not in base:
        return ""
    sha = base.get("eval_split_sha256") or {}
    if base["rescored"]:
        return f"re-scored on the candidate's eval split (sha256 {str(sha.get('candidate'))[:12]})"
    theirs, ours = str(sha.get("baseline"))[:12], str(sha.get("candidate"))[:12]
    return (
        f"NOT re-scored ({base.get('why_not_rescored')}); recorded numbers from eval split "
        f"sha256 {theirs} vs the candidate's {ours}"
    )


def render_decision_text(decision: dict) -> str:
    """The human-readable `decision.txt`."""
    lines = [f"Decision: {decision['recommendation']}", ""]
    lines.append("Why:")
    lines += [f"  - [{f['outcome']}] {f['rule']}: {f['message']}" for f in decision["rules_fired"]]
    stats = decision.get("statistics") or {}
    per = stats.get("metrics", {})
    head = "Metrics:"
    if stats:
        head = (
            f"Metrics ({round(100 * stats['confidence'], 2):g}% intervals, {stats['method']}, "
            f"{stats['resamples']} resamples, seed {stats['seed']}, {stats['n_eval']} records):"
        )
    lines += ["", head]
    for k, v in sorted(decision["candidate_metrics"].items()):
        d, e = decision["deltas"].get(k), per.get(k, {})
        line = f"  {k}: {v:.4f} {_iv(e.get('candidate_interval'), False)}".rstrip()
        if d is not None:
            line += f" ({d:+.4f} vs baseline {_iv(e.get('interval'))})".replace(" )", ")")
        if "mcnemar" in e:
            mc = e["mcnemar"]
            line += (
                f"; McNemar p={mc['p_value']:.4g} ({mc['candidate_only_right']} right only by "
                f"the candidate, {mc['baseline_only_right']} only by the baseline)"
            )
        lines.append(line)
    base = decision.get("baseline")
    lines += ["", f"Baseline: {base['source'] if base else 'none'}"]
    if rescoring_line(decision):
        lines.append(f"  {rescoring_line(decision)}")
    if stats.get("slices"):
        lines += ["", f"Slices ({decision['primary_metric']}):"]
        for s in stats["slices"]:
            judged = "" if s["judged"] else " (not judged)"
            vs = (
                f", baseline {s['baseline']:.4f}, delta {s['delta']:+.4f} {_iv(s['interval'])}"
                if "delta" in s
                else ""
            )
            lines.append(
                f"  {s['field']}={s['value']} n={s['n']}{judged}: candidate "
                f"{s['candidate']:.4f} {_iv(s['candidate_interval'], False)}{vs}"
            )
    lines += ["", "Gates:"]
    for g in decision["gates"]:
        state = {True: "pass", False: "FAIL", None: "unknown"}[g.get("passed")]
        lines.append(f"  {g['name']}: {state} {g.get('detail', '')}".rstrip())
    lines += ["", "Thresholds:"]
    lines += [f"  {k}: {v}" for k, v in decision["thresholds"].items()]
    return "\n".join(lines) + "\n"
