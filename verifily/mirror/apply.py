"""Applying one outbox row to MLflow, idempotently: a retry never makes a second run, a second
version or a second alias move.

- `start` finds the MLflow run by the Verifily run's id (tag verifily.dagster_run_id) before it
  creates one; params and the dataset input are the same values each time.
- `log` sends metric points stamped when they were recorded, so a repeat is the same point.
- `finish` re-uploads the same files to the same paths and closes the run FINISHED.
- `register` finds the version by its MLflow run before it creates one.
- `alias` mirrors the signed ledger: it sets the alias to whatever version the ledger names
  now, and only when MLflow's differs. It never decides anything.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

from verifily.registry.champion import holders, verified_ledger
from verifily.signing.keystore import trusted_keys
from verifily.tags import MLFLOW_DAGSTER_RUN_ID, MLFLOW_RESERVATION, MLFLOW_RUN_DIR
from verifily.tracking.outbox import TrackingOutbox
from verifily.tracking.record import ALIAS, FAIL, FINISH, LOG, REGISTER, START
from verifily.tracking.runs import (
    end_run,
    experiment_id,
    fail_if_running,
    how_to_open,
    log_run_dir,
    run_url,
)
from verifily.tracking.store import TrackingSettings, mlflow_client
from verifily.tracking.versions import (
    find_version,
    register_version,
    registered_model,
    set_alias,
)

# A drainer's threads move aliases one at a time: two moves of one alias at once race in
# MLflow's store (see verifily.tracking.versions.set_alias, which covers other processes).
_ALIAS_MOVES = threading.Lock()
# MLflow stores dataset digests in a 36-character column (MAX_DATASET_DIGEST_SIZE); the full
# 64-hex dataset hash goes in the dataset profile and the `verifily.dataset_hash` tag.
DIGEST_CHARS = 36


# Rows about the retrain's own MLflow run, which follow one another and go together.
RUN_WRITES = (START, LOG, FINISH)
# {(tracking URI, experiment name): experiment id}, per drainer process.
_experiments: dict[tuple[str, str], str] = {}


def warm_up() -> None:
    """Import the MLflow modules the apply path uses, before drainer threads start (first
    imports of one module from several threads can deadlock)."""
    import mlflow.entities  # noqa: F401
    import mlflow.exceptions  # noqa: F401
    import mlflow.protos.databricks_pb2  # noqa: F401
    import mlflow.store.artifact.artifact_repository_registry  # noqa: F401
    import mlflow.tracking  # noqa: F401


class NotYet(Exception):
    """A row that cannot be applied before an earlier one (its retrain's `start`)."""


def settings_of(row: dict) -> TrackingSettings:
    """The store a row was recorded for."""
    return TrackingSettings(**row["target"])


def find_run(client, exp_id: str, key: str, payload: dict):
    """The MLflow run of a Verifily run (opened at request time, or by an earlier attempt of
    this row), or None."""
    if payload.get("mlflow_run_id"):
        return client.get_run(payload["mlflow_run_id"])
    lookups = [(MLFLOW_DAGSTER_RUN_ID, key)]
    if payload.get("reservation"):
        lookups.append((MLFLOW_RESERVATION, payload["reservation"]))
    for tag, value in lookups:
        found = client.search_runs(
            [exp_id], filter_string=f"tags.`{tag}` = '{value}'", max_results=1
        )
        if found:
            return found[0]
    return None


def cached_experiment_id(client, settings: TrackingSettings) -> str:
    """The experiment's id, looked up once per store and drainer process."""
    where = (settings.tracking_uri, settings.experiment_name)
    if where not in _experiments:
        _experiments[where] = experiment_id(client, settings)
    return _experiments[where]


def _found_or_created(client, settings, key, payload, first_attempt, reserved):
    exp_id = cached_experiment_id(client, settings)
    run = None if first_attempt and not reserved else find_run(client, exp_id, key, payload)
    if run is None:
        run = client.create_run(exp_id, run_name=payload["run_name"], tags=payload["tags"])
    return exp_id, run


def open_run(
    settings: TrackingSettings, key: str, payload: dict, *, first_attempt: bool = False
) -> tuple[dict, dict]:
    """Find or create the retrain's MLflow run and log its dataset input; returns the run and
    the params it does not have yet (sent with the retrain's next batch). On a row's first
    attempt with no reservation nothing can exist yet, so the lookup is skipped."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, RunTag

    client = mlflow_client(settings)
    reserved = payload.get("mlflow_run_id") or payload.get("reservation")
    try:
        exp_id, run = _found_or_created(client, settings, key, payload, first_attempt, reserved)
    except Exception:
        # The cached experiment may be gone (a new store at the same address): look it up again.
        _experiments.pop((settings.tracking_uri, settings.experiment_name), None)
        exp_id, run = _found_or_created(client, settings, key, payload, first_attempt, reserved)
    if run.data.tags.get(MLFLOW_DAGSTER_RUN_ID) != key:
        # Reserved before the Dagster run existed: now it gets its name and every tag.
        client.log_batch(
            run.info.run_id,
            tags=[
                RunTag(k, str(v))
                for k, v in {**payload["tags"], "mlflow.runName": payload["run_name"]}.items()
            ],
        )
    run_id = run.info.run_id
    have = run.data.params if run.data else {}
    todo = {k: v for k, v in payload["params"].items() if k not in have}
    ds = payload["dataset"]
    if not (run.inputs and run.inputs.dataset_inputs):
        dataset = Dataset(
            name=ds["name"],
            digest=ds["dataset_hash"][:DIGEST_CHARS],
            source_type="local",
            source=json.dumps({"uri": ds["path"]}),
            profile=json.dumps(
                {k: ds[k] for k in ("dataset_hash", "record_count", "split_counts")},
                sort_keys=True,
            ),
        )
        client.log_inputs(
            run_id, [DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])]
        )
    started = {
        "run_id": run_id,
        "experiment_id": exp_id,
        "artifact_uri": run.info.artifact_uri,
        "url": run_url(settings, exp_id, run_id),
        "open_with": how_to_open(settings),
    }
    return started, todo


def log_points(
    settings: TrackingSettings, run_id: str, *payloads: dict, params: dict | None = None
) -> None:
    """Params, and the metrics (each at its recorded time) and tags of one or more `log` rows,
    in one request; a later row's tag wins over an earlier one's."""
    from mlflow.entities import Metric, Param, RunTag

    metrics, tags = [], {}
    for payload in payloads:
        ts = int(payload["ts"])
        metrics += [Metric(k, float(v), ts, 0) for k, v in sorted(payload["metrics"].items())]
        tags.update({k: str(v) for k, v in payload["tags"].items()})
    mlflow_client(settings).log_batch(
        run_id,
        metrics=metrics,
        params=[Param(k, str(v)) for k, v in sorted((params or {}).items())],
        tags=[RunTag(k, v) for k, v in sorted(tags.items())],
    )


def mirror_alias(settings: TrackingSettings, payload: dict) -> dict:
    """Set MLflow's alias to the version the verified ledger names (skipped when it already
    does, or while that version is not registered yet: its own row will set it)."""
    model, alias = payload["model"], payload["alias"]
    ledger = Path(payload["ledger"]) if payload.get("ledger") else None
    holder = holders(verified_ledger(model, trusted_keys(), ledger), model, mode="real").get(alias)
    if holder is None:
        return {"skipped": "the ledger names no holder"}
    client = mlflow_client(settings)
    mv = find_version(client, model, attestation_digest=holder.attestation_digest)
    if mv is None:
        return {"skipped": f"v{holder.version} is not registered yet"}
    with _ALIAS_MOVES:
        rm = registered_model(client, model)
        if rm is not None and str(rm.aliases.get(alias)) == str(mv.version):
            return {"skipped": "already applied", "version": str(mv.version)}
        set_alias(client, model, alias, str(mv.version))
    return {"moved": True, "version": str(mv.version), "ledger_version": holder.version}


def run_writes(rows: list[dict], outbox: TrackingOutbox) -> dict | None:
    """A retrain's `start`, `log` and `finish` rows that follow one another, sent together (see
    verifily.mirror.drain.units): the run opened (or found), one batch with its params, every
    metric and tag, then the run directory uploaded and the run closed. Returns the run when
    the rows begin with `start`."""
    head, settings, key = rows[0], settings_of(rows[0]), rows[0]["key"]
    params: dict = {}
    if head["op"] == START:
        # `attempts` as read before this attempt was counted: 0 = never sent before.
        started, params = open_run(
            settings, key, head["payload"], first_attempt=head["attempts"] == 0
        )
    else:
        found = outbox.result_of(key, START)
        if found is None:
            raise NotYet(f"retrain {key} has no MLflow run yet")
        started = found
    logs = [r["payload"] for r in rows if r["op"] == LOG]
    finish = next((r["payload"] for r in rows if r["op"] == FINISH), None)
    if finish is not None:
        tags = {**finish["tags"], MLFLOW_RUN_DIR: finish["run_dir"]}
        logs.append({"metrics": {}, "tags": tags, "ts": 0})
    run_id = started["run_id"]
    if params or logs:
        log_points(settings, run_id, *logs, params=params)
    if finish is not None:
        log_run_dir(settings, run_id, finish["run_dir"], started.get("artifact_uri"))
        end_run(settings, run_id, "FINISHED")
    return started if head["op"] == START else None


def apply_rows(rows: list[dict], outbox: TrackingOutbox) -> dict | None:
    """Send one write to MLflow (a row, or run writes sent together); returns what later rows
    need (the run of `start`)."""
    if rows[0]["op"] in RUN_WRITES:
        return run_writes(rows, outbox)
    if len(rows) > 1:
        raise ValueError(f"{rows[0]['op']!r} rows are sent one by one")
    return apply_row(rows[0], outbox)


def apply_row(row: dict, outbox: TrackingOutbox) -> dict | None:
    """Send one row to MLflow; returns what later rows need (the run of `start`)."""
    settings = settings_of(row)
    key, op, payload = row["key"], row["op"], row["payload"]
    if op in RUN_WRITES:
        return run_writes([row], outbox)
    if op == ALIAS:
        return mirror_alias(settings, payload)
    started = outbox.result_of(key, START)
    if started is None:
        raise NotYet(f"retrain {key} has no MLflow run yet")
    run_id = started["run_id"]
    if op == FAIL:
        fail_if_running(settings, run_id, payload["error"])
    elif op == REGISTER:
        with tempfile.TemporaryDirectory() as tmp:
            version = register_version(settings, run_id, payload, Path(tmp))
        return {"version": version}
    else:
        raise ValueError(f"unknown tracking write {op!r}")
    return None
