"""The ship decision asset, and the run contract gate on the published run directory."""

import dagster as dg
import pandas as pd

from verifily import retrain as core
from verifily.artifact import verify_artifact
from verifily.contract import validate_run_contract
from verifily.errors import DatasetError
from verifily_assets.failures import verifily_failure
from verifily_assets.partitions import MODEL_PARTITIONS
from verifily_assets.previews import markdown_table


def dataset_gate(dataset: dict) -> dict:
    """Re-check, inside this run, that the dataset still hashes to what was trained on."""
    try:
        now = verify_artifact(dataset["path"], integrity_only=True)
        ok = now.dataset_hash == dataset["dataset_hash"]
        detail = "dataset hash unchanged" if ok else f"dataset hash changed to {now.dataset_hash}"
    except DatasetError as e:
        ok, detail = False, "; ".join(e.problems[:3])
    return {"name": "dataset_integrity", "passed": ok, "detail": detail}


_GATE_STATE = {True: "pass", False: "FAIL", None: "unknown"}


def decision_markdown(decision: dict, response: dict) -> str:
    """The decision as a person reads it in the UI."""
    lines = [f"## {decision['recommendation']}", "", "**Why**", ""]
    lines += [
        f"- `{f['outcome']}` **{f['rule']}**: {f['message']}" for f in decision["rules_fired"]
    ]
    base = (decision.get("baseline") or {}).get("metrics") or {}
    rows = [
        {
            "metric": k,
            "candidate": v,
            "baseline": base.get(k, ""),
            "delta": decision["deltas"].get(k, ""),
        }
        for k, v in sorted(decision["candidate_metrics"].items())
    ]
    lines += ["", "**Metrics**", "", markdown_table(pd.DataFrame(rows)), ""]
    lines += ["**Gates**", ""] + [
        f"- {g['name']}: {_GATE_STATE[g['passed']]} {g.get('detail', '')}"
        for g in decision["gates"]
    ]
    lines += ["", f"Run directory: `{response['run_dir']}`"]
    return "\n".join(lines)


@dg.asset(
    partitions_def=MODEL_PARTITIONS,
    group_name="decision",
    kinds={"python"},
    owners=["team:ml-platform"],
)
def decision(context: dg.AssetExecutionContext, eval_results: dict) -> dg.MaterializeResult:
    """SHIP, DONT_SHIP or INVESTIGATE for the candidate, with every reason; publishes the run."""
    with verifily_failure():
        try:
            gates = [dataset_gate(eval_results["dataset"])]
            state = core.decide(eval_results, gates=gates)
            response = core.publish(state)
        except BaseException:
            core.abandon(eval_results)
            raise
    response = {**response, "run_id": context.run.run_id}
    d = state["decision"]
    context.log.info(f"decision {d['recommendation']} for {response['run_dir']}")
    return dg.MaterializeResult(
        value=response,
        metadata={
            "recommendation": d["recommendation"],
            "reasons": dg.MetadataValue.md(decision_markdown(d, response)),
            "primary_metric": d["primary_metric"],
            "primary_value": dg.MetadataValue.float(
                float(d["candidate_metrics"].get(d["primary_metric"], float("nan")))
            ),
            "run_dir": dg.MetadataValue.path(response["run_dir"]),
            "baseline": str((d.get("baseline") or {}).get("source") or "none"),
            "exit_code": dg.MetadataValue.int(d["exit_code"]),
        },
    )


@dg.asset_check(asset=decision, blocking=True, partitions_def=MODEL_PARTITIONS)
def run_contract(decision: dict) -> dg.AssetCheckResult:
    """The published run directory matches its hashes.json, chain hash and audit chain."""
    problems = validate_run_contract(decision["run_dir"])
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "run_dir": dg.MetadataValue.path(decision["run_dir"]),
            "problems": "\n".join(problems) or "none",
        },
    )
