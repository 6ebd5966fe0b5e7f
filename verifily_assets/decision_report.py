"""The decision as a person reads it in the Dagster UI: Markdown with every reason and number."""

from verifily.decision.render import rescoring_line
from verifily_assets.previews import markdown_table

_GATE_STATE = {True: "pass", False: "FAIL", None: "unknown"}
_VERDICT = {
    "SHIP": "the candidate may ship",
    "DONT_SHIP": "the candidate must not ship",
    "INVESTIGATE": "a person should look before it ships",
}


def _num(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else "" if v is None else str(v)


def _iv(iv: list | None) -> str:
    return f"[{iv[0]:+.4f}, {iv[1]:+.4f}]" if iv else ""


def metric_rows(decision: dict) -> list[dict]:
    """One row per candidate metric: candidate, baseline and delta (blank without a baseline),
    and where the decision has statistics the delta's interval and McNemar's p."""
    base = (decision.get("baseline") or {}).get("metrics") or {}
    stats = (decision.get("statistics") or {}).get("metrics")
    rows = []
    for k, v in sorted(decision["candidate_metrics"].items()):
        row = {
            "metric": k + (" (primary)" if k == decision["primary_metric"] else ""),
            "candidate": v,
            "baseline": base.get(k),
            "delta": decision["deltas"].get(k),
        }
        if stats is not None:
            e = stats.get(k, {})
            row["interval"] = _iv(e.get("interval"))
            row["mcnemar_p"] = (e.get("mcnemar") or {}).get("p_value")
        rows.append(row)
    return rows


def slice_rows(decision: dict) -> list[dict]:
    """One row per slice of the eval split: its records, both sides' primary metric, the
    delta and its interval, and whether it was judged (enough records and a re-scored
    baseline)."""
    return [
        {
            "slice": f"{s['field']}={s['value']}",
            "n": s["n"],
            "candidate": s["candidate"],
            "baseline": s.get("baseline"),
            "delta": s.get("delta"),
            "interval": _iv(s.get("interval")),
            "judged": "yes" if s["judged"] else f"no (min_count {s['min_count']})",
        }
        for s in (decision.get("statistics") or {}).get("slices", [])
    ]


def slice_metadata(decision: dict) -> dict[str, float]:
    """A numeric entry per slice (the candidate's primary metric on it), so the asset's Plots
    tab draws each slice across retrains."""
    m = decision["primary_metric"]
    return {
        f"{m} [{s['field']}={s['value']}]": float(s["candidate"])
        for s in (decision.get("statistics") or {}).get("slices", [])
    }


def decision_markdown(decision: dict, response: dict) -> str:
    """Recommendation, every rule that fired with its numbers, metrics vs baseline, gates, links."""
    rec = decision["recommendation"]
    lines = [f"## {rec}: {_VERDICT.get(rec, '')}", "", "### Why", ""]
    for f in decision["rules_fired"]:
        # Numbers the message already states are not repeated; the rest are named.
        values = ", ".join(
            f"{k}={_num(v)}"
            for k, v in (f.get("values") or {}).items()
            if _num(v) not in f["message"]
        )
        lines.append(
            f"- **{f['outcome']}** `{f['rule']}`: {f['message']}"
            + (f" ({values})" if values else "")
        )
    base = decision.get("baseline") or {}
    table = [{k: _num(v) for k, v in row.items()} for row in metric_rows(decision)]
    lines += ["", f"### Metrics against baseline `{base.get('source') or 'none'}`", ""]
    lines += [markdown_table(table), ""]
    stats = decision.get("statistics")
    if stats:
        lines += [
            f"Intervals: {round(100 * stats['confidence'], 2):g}% {stats['method']} "
            f"({stats['resamples']} resamples, seed {stats['seed']}, {stats['n_eval']} records). "
            f"Baseline {rescoring_line(decision) or 'none'}.",
            "",
        ]
    if stats and stats.get("slices"):
        table = [{k: _num(v) for k, v in row.items()} for row in slice_rows(decision)]
        lines += [f"### Slices ({decision['primary_metric']})", "", markdown_table(table), ""]
    lines += ["### Thresholds", ""]
    lines += [markdown_table([{k: _num(v) for k, v in decision["thresholds"].items()}]), ""]
    lines += ["### Gates", ""]
    lines += [
        f"- {g['name']}: **{_GATE_STATE[g.get('passed')]}** {g.get('detail', '')}".rstrip()
        for g in decision["gates"]
    ] or ["- none"]
    url = response.get("mlflow_run_url")
    hint = response.get("mlflow_open_with")
    lines += [
        "",
        "### Links",
        "",
        f"- MLflow run: [{response.get('mlflow_run_id') or url}]({url})"
        + (f" ({hint})" if hint else "")
        if url
        else (
            "- MLflow run: queued in the tracking outbox; linked on this asset (an observation) "
            "once the drainer has opened it"
            if response.get("tracking_key")
            else "- MLflow run: not recorded for this retrain"
        ),
        f"- Run directory: `{response['run_dir']}`",
    ]
    return "\n".join(lines)
