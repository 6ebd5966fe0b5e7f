"""The SHIP / DONT_SHIP / INVESTIGATE rules: one function, every reason recorded."""

from __future__ import annotations

from verifily.config.pipeline import Thresholds
from verifily.decision.references import load_baseline, load_contamination
from verifily.signing.keys import KeyRing
from verifily.signing.keystore import trusted_keys

SHIP, DONT_SHIP, INVESTIGATE = "SHIP", "DONT_SHIP", "INVESTIGATE"
EXIT_CODES = {SHIP: 0, DONT_SHIP: 1, INVESTIGATE: 3}


def decide(
    candidate: dict[str, float],
    thresholds: Thresholds,
    *,
    base_run_dir: str | None = None,
    baseline_metrics: dict | None = None,
    baseline_label: str | None = None,
    baseline_digest: str | None = None,
    baseline_error: str | None = None,
    champion: dict | None = None,
    contaminated_run_dir: str | None = None,
    gates: list[dict] | None = None,
    keys: KeyRing | None = None,
    evidence: dict | None = None,
) -> dict:
    """Apply every rule to a candidate's metrics and return the decision record.

    Rules (the README has the table): a failed gate, contamination above the maximum, a
    metric below `min_metric` or a regression beyond `regression_tolerance` is DONT_SHIP;
    a missing metric, an unusable baseline or contamination report, or a metric within
    `investigate_band` above `min_metric` is INVESTIGATE; otherwise SHIP. The most severe
    outcome wins, and every rule that fired is listed with its numbers.

    A `base_run_dir` or `contaminated_run_dir` is used only when its attestation verifies
    with `keys` (default: this deployment's accepted keys). `baseline_metrics` come from the
    caller (the champion); `baseline_error` says why the caller's baseline cannot be used.
    `champion` is the champion the decision was made against ({version, attestation_digest,
    run_dir}, None when there was none): promotion moves it only while it is still champion.

    `evidence` (verifily.decision.evidence.gather) carries each metric's delta on identical
    records and its bootstrap interval, and the slices. With it the regression rule is
    three-way (interval wholly below -regression_tolerance: DONT_SHIP; straddling it:
    INVESTIGATE `inconclusive`), a candidate whose interval straddles min_metric is
    INVESTIGATE, a judged slice wholly below -slice_tolerance is `slice_regression`, and a
    baseline that could not be re-scored is INVESTIGATE `baseline_not_rescored`. Without it
    (a re-decision from a recorded decision) the point rules apply.
    """
    gates = list(gates or [])
    trusted: list[KeyRing] = [keys] if keys is not None else []

    def accepted() -> KeyRing:
        if not trusted:
            trusted.append(trusted_keys())
        return trusted[0]

    fired: list[dict] = []
    m = thresholds.primary_metric

    def fire(rule: str, outcome: str, message: str, **values: object) -> None:
        fired.append({"rule": rule, "outcome": outcome, "message": message, "values": values})

    for gate in gates:
        if not gate.get("passed", False):
            fire(
                "gate_failed",
                DONT_SHIP,
                f"gate {gate['name']} failed: {gate.get('detail', '')}",
                gate=gate["name"],
            )

    contaminated_ref = None
    if contaminated_run_dir:
        found = load_contamination(contaminated_run_dir, accepted())
        report, why = found.value, found.error
        if report is None:
            fire(
                "contamination_unavailable",
                INVESTIGATE,
                f"contamination results unavailable: {why}",
                contaminated_run_dir=contaminated_run_dir,
            )
            gates.append({"name": "contamination_run", "passed": None, "detail": why})
        else:
            contaminated_ref = found.ref()
            frac = float(report["contaminated_fraction"])
            ok = frac <= thresholds.max_contamination
            gates.append(
                {
                    "name": "contamination_run",
                    "passed": ok,
                    "detail": f"{frac:.4f} of eval records contaminated in {contaminated_run_dir}",
                }
            )
            if not ok:
                fire(
                    "contamination",
                    DONT_SHIP,
                    f"contaminated fraction {frac:.4f} exceeds max_contamination "
                    f"{thresholds.max_contamination:.4f} (report in {contaminated_run_dir})",
                    contaminated_fraction=frac,
                    max_contamination=thresholds.max_contamination,
                )

    value = candidate.get(m)
    baseline: dict | None = baseline_metrics
    label = baseline_label
    digest = baseline_digest
    if base_run_dir:
        loaded = load_baseline(base_run_dir, accepted())
        baseline, digest, label = loaded.value, loaded.attestation_digest, str(base_run_dir)
        if loaded.error:
            fire(
                "baseline_unavailable",
                INVESTIGATE,
                f"baseline unavailable: {loaded.error}",
                base_run_dir=str(base_run_dir),
            )
    elif baseline_error:
        baseline = None
        fire("baseline_unavailable", INVESTIGATE, f"baseline unavailable: {baseline_error}")
    deltas = {
        k: round(v - baseline[k], 6)
        for k, v in candidate.items()
        if baseline and isinstance(baseline.get(k), int | float)
    }
    stats = (evidence or {}).get("metrics", {})
    recorded = baseline
    if evidence and baseline:
        deltas.update({k: e["delta"] for k, e in stats.items() if "delta" in e and k in deltas})
        if evidence["rescored"]:
            baseline = {**baseline, **{k: e["baseline"] for k, e in stats.items() if k in baseline}}
        else:
            fire(
                "baseline_not_rescored",
                INVESTIGATE,
                f"the baseline was not re-scored on the candidate's eval split, so the deltas "
                f"compare against its recorded numbers: {evidence['why_not_rescored']}",
                why=evidence["why_not_rescored"],
                eval_split_sha256=evidence["eval_split_sha256"],
            )

    if value is None:
        fire(
            "metric_missing",
            INVESTIGATE,
            f"primary metric {m!r} not in eval results (has {', '.join(sorted(candidate))})",
            metric=m,
        )
    else:
        if value < thresholds.min_metric:
            fire(
                "below_minimum",
                DONT_SHIP,
                f"{m} {value:.4f} is below min_metric {thresholds.min_metric:.4f}",
                value=value,
                min_metric=thresholds.min_metric,
            )
        elif value < thresholds.min_metric + thresholds.investigate_band:
            fire(
                "near_minimum",
                INVESTIGATE,
                f"{m} {value:.4f} is within investigate_band {thresholds.investigate_band:.4f} "
                f"of min_metric {thresholds.min_metric:.4f}",
                value=value,
                min_metric=thresholds.min_metric,
                investigate_band=thresholds.investigate_band,
            )
        interval = stats.get(m, {}).get("interval") if baseline else None
        cand_interval = stats.get(m, {}).get("candidate_interval")
        tol = thresholds.regression_tolerance
        if baseline and m in deltas and interval is not None:
            _regression_rule(fire, m, value, baseline[m], deltas[m], interval, tol, _pct(evidence))
        elif baseline and m in deltas and deltas[m] < -tol:
            fire(
                "regression",
                DONT_SHIP,
                f"{m} dropped {-deltas[m]:.4f} against the baseline ({baseline[m]:.4f} -> "
                f"{value:.4f}), more than regression_tolerance {tol:.4f}",
                value=value,
                baseline=baseline[m],
                delta=deltas[m],
                regression_tolerance=tol,
            )
        if cand_interval and value >= thresholds.min_metric > cand_interval[0]:
            fire(
                "inconclusive",
                INVESTIGATE,
                f"{m} {value:.4f} is above min_metric {thresholds.min_metric:.4f}, but its "
                f"{_pct(evidence)} interval [{cand_interval[0]:.4f}, {cand_interval[1]:.4f}] "
                "reaches below it",
                against="min_metric",
                value=value,
                interval=cand_interval,
                min_metric=thresholds.min_metric,
            )
    for sl in (evidence or {}).get("slices", []):
        iv = sl.get("interval")
        if sl["judged"] and iv is not None and iv[1] < -thresholds.slice_tolerance:
            fire(
                "slice_regression",
                DONT_SHIP if thresholds.slice_regression == "dont_ship" else INVESTIGATE,
                f"slice {sl['field']}={sl['value']} ({sl['n']} records): {m} "
                f"{sl['baseline']:.4f} -> {sl['candidate']:.4f}, delta {sl['delta']:+.4f} with "
                f"{_pct(evidence)} interval [{iv[0]:+.4f}, {iv[1]:+.4f}] wholly below "
                f"-slice_tolerance {thresholds.slice_tolerance:.4f}",
                field=sl["field"],
                slice=sl["value"],
                n=sl["n"],
                candidate=sl["candidate"],
                baseline=sl["baseline"],
                delta=sl["delta"],
                interval=iv,
                slice_tolerance=thresholds.slice_tolerance,
            )

    outcomes = {f["outcome"] for f in fired}
    rec = DONT_SHIP if DONT_SHIP in outcomes else INVESTIGATE if INVESTIGATE in outcomes else SHIP
    if rec == SHIP:
        iv = stats.get(m, {}).get("interval") if baseline else None
        vs = (
            f"; {m} {deltas[m]:+.4f} against baseline {label}"
            + (f" ({_pct(evidence)} interval [{iv[0]:+.4f}, {iv[1]:+.4f}])" if iv else "")
            if m in deltas
            else "; no baseline to compare with"
        )
        fire(
            "all_rules_passed",
            SHIP,
            f"{m} {value:.4f} >= min_metric {thresholds.min_metric:.4f}{vs}",
            value=value,
        )
    return {
        "recommendation": rec,
        "exit_code": EXIT_CODES[rec],
        "primary_metric": m,
        "candidate_metrics": candidate,
        "baseline": (
            {
                "source": label,
                "metrics": baseline,
                "attestation_digest": digest,
                "run_dir": str(base_run_dir) if base_run_dir else (champion or {}).get("run_dir"),
                **(
                    {
                        "rescored": evidence["rescored"],
                        "why_not_rescored": evidence["why_not_rescored"],
                        "recorded_metrics": recorded,
                        "eval_split_sha256": evidence["eval_split_sha256"],
                    }
                    if evidence
                    else {}
                ),
            }
            if label
            else None
        ),
        "champion": champion,
        **({"contaminated_run": contaminated_ref} if contaminated_ref else {}),
        "deltas": deltas,
        "rules_fired": fired,
        **({"statistics": evidence} if evidence else {}),
        "thresholds": thresholds.to_dict(),
        "gates": gates,
    }


def _pct(evidence: dict | None) -> str:
    return f"{round(100 * float((evidence or {}).get('confidence', 0.95)), 2):g}%"


def _regression_rule(fire, m: str, value, base, delta, interval, tol: float, pct: str) -> None:
    """Three-way: the delta's interval wholly below -tol is a regression, straddling -tol is
    inconclusive, at or above -tol is none."""
    lo, hi = interval
    where = (
        f"{m} {base:.4f} -> {value:.4f}, delta {delta:+.4f}, {pct} interval [{lo:+.4f}, {hi:+.4f}]"
    )
    values = {"value": value, "baseline": base, "delta": delta, "interval": interval,
              "regression_tolerance": tol}  # fmt: skip
    if hi < -tol:
        fire(
            "regression",
            DONT_SHIP,
            f"{where}: the whole interval lies below -regression_tolerance {tol:.4f}",
            **values,
        )
    elif lo < -tol:
        fire(
            "inconclusive",
            INVESTIGATE,
            f"{where}: the interval straddles -regression_tolerance {tol:.4f}, so the data "
            "cannot tell a regression from noise",
            against="regression_tolerance",
            **values,
        )
