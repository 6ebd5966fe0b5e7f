"""The SHIP / DONT_SHIP / INVESTIGATE rules: one function, every reason recorded."""

from __future__ import annotations

from verifily.config.pipeline import Thresholds
from verifily.contamination.report import read_report
from verifily.decision.references import load_baseline

SHIP, DONT_SHIP, INVESTIGATE = "SHIP", "DONT_SHIP", "INVESTIGATE"
EXIT_CODES = {SHIP: 0, DONT_SHIP: 1, INVESTIGATE: 3}


def decide(
    candidate: dict[str, float],
    thresholds: Thresholds,
    *,
    base_run_dir: str | None = None,
    baseline_metrics: dict | None = None,
    baseline_label: str | None = None,
    contaminated_run_dir: str | None = None,
    gates: list[dict] | None = None,
) -> dict:
    """Apply every rule to a candidate's metrics and return the decision record.

    Rules (the README has the table): a failed gate, contamination above the maximum, a
    metric below `min_metric` or a regression beyond `regression_tolerance` is DONT_SHIP;
    a missing metric, an unusable baseline or contamination report, or a metric within
    `investigate_band` above `min_metric` is INVESTIGATE; otherwise SHIP. The most severe
    outcome wins, and every rule that fired is listed with its numbers.
    """
    gates = list(gates or [])
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

    if contaminated_run_dir:
        report, why = read_report(contaminated_run_dir)
        if report is None:
            fire(
                "contamination_unavailable",
                INVESTIGATE,
                f"contamination results unavailable: {why}",
                contaminated_run_dir=contaminated_run_dir,
            )
            gates.append({"name": "contamination_run", "passed": None, "detail": why})
        else:
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
    if base_run_dir:
        baseline, why = load_baseline(base_run_dir)
        label = str(base_run_dir)
        if baseline is None:
            fire(
                "baseline_unavailable",
                INVESTIGATE,
                f"baseline unavailable: {why}",
                base_run_dir=str(base_run_dir),
            )
    deltas = {
        k: round(v - baseline[k], 6)
        for k, v in candidate.items()
        if baseline and isinstance(baseline.get(k), int | float)
    }

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
        if baseline and m in deltas and deltas[m] < -thresholds.regression_tolerance:
            fire(
                "regression",
                DONT_SHIP,
                f"{m} dropped {-deltas[m]:.4f} against the baseline ({baseline[m]:.4f} -> "
                f"{value:.4f}), more than regression_tolerance "
                f"{thresholds.regression_tolerance:.4f}",
                value=value,
                baseline=baseline[m],
                delta=deltas[m],
                regression_tolerance=thresholds.regression_tolerance,
            )

    outcomes = {f["outcome"] for f in fired}
    rec = DONT_SHIP if DONT_SHIP in outcomes else INVESTIGATE if INVESTIGATE in outcomes else SHIP
    if rec == SHIP:
        vs = (
            f"; {m} {deltas[m]:+.4f} against baseline {label}"
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
        "baseline": {"source": label, "metrics": baseline} if label else None,
        "deltas": deltas,
        "rules_fired": fired,
        "thresholds": thresholds.to_dict(),
        "gates": gates,
    }
