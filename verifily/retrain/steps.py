"""The retrain as steps over one staged run directory: start, train, evaluate, decide, publish.

Each step takes and returns a small JSON-ready state dict, so the steps can run in one
process (the CLI) or as separate Dagster steps and pods; the staging directory is the only
shared state. Nothing appears under the final `retrain_NNNN` name until `publish`.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from verifily.config.pipeline import load_thresholds
from verifily.config.slices import load_slices
from verifily.dataset.artifact import DatasetInfo
from verifily.decision import rules
from verifily.decision.evidence import gather
from verifily.decision.references import load_baseline
from verifily.decision.render import render_decision_text
from verifily.fsutil import write_bytes_durable, write_json
from verifily.registry.champion import ChampionBaseline
from verifily.retrain.request import RetrainRequest, check_request
from verifily.retrain.rescoring import rescore_baseline
from verifily.retrain.response import response
from verifily.rundir.attestation import attest_run_dir
from verifily.rundir.audit import append_audit, utc_now
from verifily.rundir.contract import seal_run_dir
from verifily.rundir.environment import environment_info
from verifily.rundir.layout import allocate_run_dir, discard_staging, publish_run_dir
from verifily.rundir.provenance import retrain_provenance
from verifily.signing.keys import KeyRing, Signer
from verifily.signing.keystore import signer as default_signer
from verifily.signing.keystore import trusted_keys
from verifily.training.interface import Progress
from verifily.training.mock import MOCK_FORMULA, mock_metrics


def _timed(state: dict, step: str, t0: float, c0: float) -> None:
    state.setdefault("steps", {})[step] = {
        "wall_seconds": round(time.perf_counter() - t0, 6),
        "cpu_seconds": round(time.process_time() - c0, 6),
    }


def start(
    req: RetrainRequest,
    dataset: DatasetInfo,
    run_id: str | None = None,
    window: dict | None = None,
) -> dict:
    """Allocate the run directory; write config.yaml, environment.json, first audit entries.

    `window` is the feed window the dataset was cut from (a DataWindow as a dict), if any.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    check_request(req)
    thresholds = load_thresholds(req.pipeline_config, metric=req.metric)
    # A run that could not be signed must not start: a key problem is named before anything
    # is written (the first retrain on a machine creates the local key pair here).
    default_signer()
    staging, final = allocate_run_dir(req.output_dir)
    try:
        config = {"request": req.to_dict(), "thresholds": thresholds.to_dict()}
        write_bytes_durable(
            staging / "config.yaml", yaml.safe_dump(config, sort_keys=True).encode()
        )
        write_json(staging / "environment.json", environment_info())
        append_audit(staging, "run_started", run_id=run_id, request=req.to_dict())
        append_audit(
            staging,
            "dataset_verified",
            dataset_hash=dataset.dataset_hash,
            record_count=dataset.record_count,
            path=dataset.path,
            **({"window": window} if window else {}),
        )
    except BaseException:
        discard_staging(staging)
        raise
    state = {
        "request": req.to_dict(),
        "thresholds": thresholds.to_dict(),
        "dataset": {**dataset.to_dict(), **({"window": window} if window else {})},
        "run_id": run_id,
        "staging_dir": str(staging),
        "final_dir": str(final),
        "started_at": utc_now(),
    }
    _timed(state, "start", t0, c0)
    return state


def train(state: dict, progress: Progress | None = None) -> dict:
    """Train the candidate. Mock mode has nothing to fit: its metrics are derived at evaluation.

    Real mode saves the model under the run dir; `state["model"]["path"]` names the file.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    req = RetrainRequest.from_dict(state["request"])
    check_request(req)
    if req.mode == "real":
        # Imported here: scikit-learn costs a second of startup that mock runs do not need.
        from verifily.training.run import train_real

        model = train_real(state, progress)
    else:
        model = {"mode": req.mode, "formula": MOCK_FORMULA}
    append_audit(state["staging_dir"], "trained", mode=req.mode, seed=req.seed)
    state = {**state, "model": model}
    _timed(state, "train", t0, c0)
    return state


def evaluate(state: dict, progress: Progress | None = None) -> dict:
    """Write eval/eval_results.json: byte-identical for the same dataset, seed and mode."""
    t0, c0 = time.perf_counter(), time.process_time()
    req = RetrainRequest.from_dict(state["request"])
    ds = state["dataset"]
    if req.mode == "real":
        # Imported here: scikit-learn costs a second of startup that mock runs do not need.
        from verifily.training.run import evaluate_real

        scored = evaluate_real(state, progress)
        # The baseline's model on these very records, so the decision compares like with like.
        state = {**state, "rescore": rescore_baseline(state, progress=progress)}
    else:
        scored = {"metrics": mock_metrics(ds["dataset_hash"], req.seed)}
    metrics = scored["metrics"]
    results = {
        **scored,
        "mode": req.mode,
        "seed": req.seed,
        "dataset_hash": ds["dataset_hash"],
        "n_eval": ds["split_counts"].get("eval", 0),
        "n_train": ds["split_counts"].get("train", 0),
    }
    write_json(Path(state["staging_dir"]) / "eval" / "eval_results.json", results)
    append_audit(state["staging_dir"], "evaluated", metrics=metrics)
    state = {**state, "eval_results": results}
    _timed(state, "evaluate", t0, c0)
    return state


def decide(
    state: dict,
    gates: list[dict] | None = None,
    champion: ChampionBaseline | None = None,
    keys: KeyRing | None = None,
) -> dict:
    """Apply the decision rules and write decision/decision.json and decision.txt.

    `champion` (from `verifily.registry.champion.champion_baseline`) is the champion the
    decision is made against, and its verified results the baseline when the request names no
    base_run_dir; a base_run_dir always wins as the baseline. `keys` verify referenced runs.
    """
    champion = champion or ChampionBaseline()
    t0, c0 = time.perf_counter(), time.process_time()
    req = RetrainRequest.from_dict(state["request"])
    thresholds = load_thresholds(req.pipeline_config, metric=req.metric)
    keys = trusted_keys() if keys is None else keys
    if req.base_run_dir:
        loaded = load_baseline(req.base_run_dir, keys)
        baseline = None if loaded.error else {**loaded.ref(), "metrics": loaded.value}
    elif champion.metrics is not None and champion.champion is not None:
        baseline = {**champion.champion, "metrics": champion.metrics}
    else:
        baseline = None
    found = gather(state, thresholds, load_slices(req.pipeline_config), baseline)
    decision = rules.decide(
        state["eval_results"]["metrics"],
        thresholds,
        base_run_dir=req.base_run_dir,
        contaminated_run_dir=req.contaminated_run_dir,
        gates=gates,
        baseline_metrics=champion.metrics,
        baseline_label=champion.label,
        baseline_digest=champion.digest,
        baseline_error=champion.error,
        champion=champion.champion,
        keys=keys,
        evidence=found,
    )
    staging = Path(state["staging_dir"])
    write_json(staging / "decision" / "decision.json", decision)
    write_bytes_durable(
        staging / "decision" / "decision.txt", render_decision_text(decision).encode()
    )
    append_audit(
        staging,
        "decided",
        recommendation=decision["recommendation"],
        rules=[f["rule"] for f in decision["rules_fired"]],
    )
    state = {**state, "decision": decision}
    _timed(state, "decide", t0, c0)
    return state


def seal(state: dict) -> dict:
    """Write usage.json and run_meta.json and seal hashes.json over the staged run; returns the
    contract. The unsigned half of `publish`."""
    staging = Path(state["staging_dir"])
    final = Path(state["final_dir"])
    req = RetrainRequest.from_dict(state["request"])
    steps = state.get("steps", {})
    write_json(
        staging / "usage.json",
        {
            "records_processed": state["dataset"]["record_count"],
            "wall_seconds": round(sum(s["wall_seconds"] for s in steps.values()), 6),
            "cpu_seconds": round(sum(s["cpu_seconds"] for s in steps.values()), 6),
            "steps": steps,
            "mode": req.mode,
        },
    )
    write_json(
        staging / "run_meta.json",
        {
            "status": "completed",
            "started_at": state["started_at"],
            "completed_at": utc_now(),
            "seed": req.seed,
            "mode": req.mode,
            "project_id": req.project_id,
            "dagster_run_id": state.get("run_id"),
            "run_name": final.name,
            "dataset_hash": state["dataset"]["dataset_hash"],
            "decision": state["decision"]["recommendation"],
            # The outbox key of the retrain's MLflow writes: the drainer opens the run later and
            # finds it by this id; `mlflow_run_id` is set only when the run was opened at request.
            "tracking_key": (state.get("mlflow") or {}).get("key"),
            "mlflow_run_id": (state.get("mlflow") or {}).get("run_id"),
            "mlflow_error": (state.get("mlflow") or {}).get("error"),
        },
    )
    append_audit(staging, "sealed", run_name=final.name)
    return seal_run_dir(staging)


def publish(state: dict, signer: Signer | None = None) -> dict:
    """Seal the run (`seal`), sign attestation.json over everything, rename into place; return
    the response (with the attestation's digest and signer)."""
    contract = seal(state)
    staging, final = Path(state["staging_dir"]), Path(state["final_dir"])
    predicate = retrain_provenance(state, contract["files"]["decision/decision.json"])
    signed = attest_run_dir(
        staging, contract["files"], predicate, default_signer() if signer is None else signer
    )
    publish_run_dir(staging, final)
    return {
        **response(final, state.get("run_id"), contract=contract),
        "attestation_digest": signed.digest,
        "signed_by": signed.keyid,
        "chain_hash": contract["chain_hash"],
    }


def abandon(state: dict) -> None:
    """Drop the staging directory of a retrain that failed."""
    if state.get("staging_dir"):
        discard_staging(Path(state["staging_dir"]))
