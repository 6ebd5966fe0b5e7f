"""The decision as a person reads it in the Dagster UI: Markdown with every reason and number."""

from verifily_assets.previews import markdown_table

_GATE_STATE = {True: "pass", False: "FAIL", None: "unknown"}
_VERDICT = {
    "SHIP": "the candidate may ship",
    "DONT_SHIP": "the candidate must not ship",
    "INVESTIGATE": "a person should look before it ships",
}


def _num(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else "" if v is None else str(v)


def metric_rows(decision: dict) -> list[dict]:
    """One row per candidate metric: candidate, baseline and delta (blank without a baseline)."""
    base = (decision.get("baseline") or {}).get("metrics") or {}
    return [
        {
            "metric": k + (" (primary)" if k == decision["primary_metric"] else ""),
            "candidate": v,
            "baseline": base.get(k),
            "delta": decision["deltas"].get(k),
        }
        for k, v in sorted(decision["candidate_metrics"].items())
    ]


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
