"""Opening a retrain's MLflow run when the retrain is requested (on Kubernetes), so that every
step Job carries its id in a label and the env.

An outage must never block a retrain: the request waits at most RESERVE_TIMEOUT_SECONDS, and
after a failure no reservation is tried for RESERVE_BACKOFF_SECONDS (a burst of requests does
not pay the timeout each). Without a reservation the Jobs say `pending` and the outbox's
drainer opens the run later (the record links it then). A reservation that answers after we
stopped waiting is still found: the drainer looks the run up by the reservation's id before it
creates one, so there is never a second run.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from verifily.tags import MLFLOW_DECISION, MLFLOW_MODEL_ID, MLFLOW_RESERVATION
from verifily.tracking.runs import experiment_id
from verifily.tracking.store import TrackingSettings, mlflow_client

RESERVE_TIMEOUT_SECONDS = 3.0
RESERVE_BACKOFF_SECONDS = 30.0
# What a step Job's label and env say when the run could not be opened in time.
PENDING = "pending"

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlflow-reserve")
_lock = threading.Lock()
_failed_at = 0.0


@dataclass(frozen=True)
class Reservation:
    """The id a retrain's MLflow run is found by, and the run when it could be opened."""

    reservation_id: str
    mlflow_run_id: str | None
    error: str | None = None

    @property
    def label(self) -> str:
        return self.mlflow_run_id or PENDING


def _create(settings: TrackingSettings, model_id: str, reservation_id: str) -> str:
    client = mlflow_client(settings)
    run = client.create_run(
        experiment_id(client, settings),
        tags={
            MLFLOW_RESERVATION: reservation_id,
            MLFLOW_MODEL_ID: model_id,
            MLFLOW_DECISION: "pending",
        },
    )
    return run.info.run_id


def reserve_run(
    settings: TrackingSettings, model_id: str, timeout_seconds: float = RESERVE_TIMEOUT_SECONDS
) -> Reservation:
    """Open the MLflow run of a retrain being requested, waiting at most `timeout_seconds`."""
    global _failed_at
    reservation_id = uuid.uuid4().hex
    if not settings.enabled:
        return Reservation(reservation_id, None, "tracking is off")
    with _lock:
        if time.monotonic() - _failed_at < RESERVE_BACKOFF_SECONDS:
            return Reservation(reservation_id, None, "MLflow failed recently; not waiting on it")
    try:
        if not settings.is_remote:
            # A local store is no server that can hang, and opening it runs alembic, whose
            # migration context is process-global: from a thread it would race Dagster's own
            # alembic use (its SQLite storage) in this process.
            return Reservation(reservation_id, _create(settings, model_id, reservation_id))
        future = _pool.submit(_create, settings, model_id, reservation_id)
        return Reservation(reservation_id, future.result(timeout=timeout_seconds))
    except FutureTimeout:
        error = f"MLflow did not answer within {timeout_seconds:g} s"
    except Exception as e:  # down or refusing: the retrain goes on without it
        error = f"{type(e).__name__}: {str(e)[:300]}"
    with _lock:
        _failed_at = time.monotonic()
    return Reservation(reservation_id, None, error)
