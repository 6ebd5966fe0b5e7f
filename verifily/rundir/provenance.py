"""The attestation's predicate: SLSA Provenance v1 of a retrain's decision.

`externalParameters` is what was asked (the request, the thresholds); `resolvedDependencies`
what it was decided from (the dataset by its file hash, the baseline, the champion and the
contamination reference by their attestation digests); `runDetails` who ran it (the Dagster and
MLflow run ids, the code's versions) and, as a byproduct, what was decided and why.
"""

from __future__ import annotations

import json
from pathlib import Path

from verifily.rundir.audit import utc_now

BUILD_TYPE = "https://verifily.dev/provenance/retrain/v1"
BUILDER_ID = "https://verifily.dev/builder/retrain_job"
CODE_PACKAGES = ("verifily", "dagster", "mlflow", "scikit-learn")


def code_versions(staging_dir: str) -> dict[str, str]:
    """Versions of the code that decided, as the run's environment.json recorded them at its
    start (looking them up again costs milliseconds; a package not installed is left out)."""
    try:
        packages = json.loads((Path(staging_dir) / "environment.json").read_text())["packages"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {k: str(packages[k]) for k in CODE_PACKAGES if packages.get(k)}


def _run_ref(name: str, ref: dict | None, **annotations: object) -> list[dict]:
    """A run directory another run depends on, named by its attestation digest."""
    if not ref or not ref.get("attestation_digest"):
        return []
    extra = {k: v for k, v in annotations.items() if v is not None}
    return [
        {
            "name": name,
            "uri": ref.get("run_dir") or "",
            "digest": {"sha256": ref["attestation_digest"]},
            **({"annotations": extra} if extra else {}),
        }
    ]


def retrain_provenance(state: dict, decision_sha256: str) -> dict:
    """The predicate for a retrain's state after its decision (see the module docstring)."""
    req, ds, d = state["request"], state["dataset"], state["decision"]
    mlflow = state.get("mlflow") or {}
    baseline = d.get("baseline") or {}
    champion = d.get("champion")
    deps = [
        {
            "name": "dataset",
            "uri": ds["path"],
            "digest": {"sha256": ds["file_sha256"]},
            "annotations": {
                "dataset_hash": ds["dataset_hash"],
                "record_count": ds["record_count"],
                **({"window": ds["window"]} if ds.get("window") else {}),
            },
        },
        *_run_ref("baseline", baseline, source=baseline.get("source")),
        *_run_ref("champion", champion, version=(champion or {}).get("version")),
        *_run_ref("contaminated_run", d.get("contaminated_run")),
    ]
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {"request": req, "thresholds": state["thresholds"]},
            "internalParameters": {
                "dagster_run_id": state.get("run_id"),
                "mlflow_run_id": mlflow.get("run_id"),
            },
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {"id": BUILDER_ID, "version": code_versions(state["staging_dir"])},
            "metadata": {
                "invocationId": state.get("run_id") or "",
                "startedOn": state["started_at"],
                "finishedOn": utc_now(),
            },
            "byproducts": [
                {
                    "name": "decision",
                    "mediaType": "application/json",
                    "digest": {"sha256": decision_sha256},
                    "annotations": {
                        "recommendation": d["recommendation"],
                        "primary_metric": d["primary_metric"],
                        "rules_fired": [
                            {"rule": f["rule"], "outcome": f["outcome"], "message": f["message"]}
                            for f in d["rules_fired"]
                        ],
                        "baseline": baseline.get("source"),
                        "champion": champion,
                    },
                }
            ],
        },
    }
