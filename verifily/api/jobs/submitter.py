"""Puts accepted submissions on the Dagster instance's run queue, off the request path.

Creating a Dagster run costs tens to hundreds of milliseconds (snapshots, one planned event per
asset and check, and with SQLite storage a new per-run database), and the webserver's GraphQL
adds its own planning round trip through the code server; under many concurrent clients that
made a submission take tens of seconds. The API therefore answers once the submission is stored
(verifily.jobstore.submissions) and this thread creates the run with the id already given to the
client and enqueues it; the daemon's QueuedRunCoordinator launches it under its limits.

A queued run must name the code location it belongs to (its remote job origin, and the Python
origin the run launcher uses, e.g. the image on Kubernetes). Dagster has no public constructor
for these, so they are taken from the newest run that Dagster itself created for the code
location (the UI, a sensor, or a GraphQL submission); when the instance has none yet, the API
makes that first submission through the webserver's GraphQL. On Kubernetes the origin names
the image the run worker starts from, so after a redeploy an older run's origin would start the
old code: when the current image is known (ApiSettings.code_image), only origins naming it
are borrowed, and until Dagster has created a run with the new image, submissions go through
the webserver (which always uses the live one).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import dagster as dg

from verifily.jobstore.events import JobEventStore
from verifily.jobstore.submissions import SubmissionStore
from verifily.tags import QUEUED_BY, RETRAIN_JOB
from verifily_assets import launch

log = logging.getLogger(__name__)

ORIGIN_REFRESH_SECONDS = 60.0


_RETRY_DELAYS = (0.5, 2.0, 5.0)


class RunOrigins:
    """The origins a queued run of retrain_job needs, borrowed from a Dagster-created run."""

    def __init__(
        self, instance: dg.DagsterInstance, location: str | None, image: str | None = None
    ):
        self.instance = instance
        self.location = location
        self.image = image  # None: not on an image, borrow from any run of the location
        self._value = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def _lookup(self):
        for rec in self.instance.get_run_records(dg.RunsFilter(job_name=RETRAIN_JOB), limit=200):
            run = rec.dagster_run
            origin, code_origin = run.remote_job_origin, run.job_code_origin
            if origin is None or code_origin is None or QUEUED_BY in run.tags:
                continue
            if self.location and origin.location_name != self.location:
                continue
            if self.image and code_origin.repository_origin.container_image != self.image:
                continue  # made before a redeploy: its run worker would start the old image
            return origin, code_origin
        return None

    def cached(self):
        """The last origins read, without touching the instance (for the request path)."""
        return self._value

    def get(self, refresh: bool = False):
        """(remote job origin, job code origin), or None while Dagster has created no run of
        the job at this location. Re-read at most once a minute."""
        with self._lock:
            stale = time.monotonic() - self._read_at > ORIGIN_REFRESH_SECONDS
            if self._value is None or refresh or stale:
                found = self._lookup()
                self._value = found or self._value
                self._read_at = time.monotonic()
            return self._value


class RunSubmitter:
    """One background thread that turns stored submissions into queued Dagster runs."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        store: SubmissionStore,
        events: JobEventStore,
        origins: RunOrigins,
    ):
        self.instance = instance
        self.store = store
        self.events = events
        self.origins = origins
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the thread and re-enqueue what an earlier API process accepted but did not
        submit (it stopped in between)."""
        with self._start_lock:
            if self._thread is not None:
                return
            for row in self.store.pending():
                self._queue.put(row["job_id"])
            self._thread = threading.Thread(
                target=self._loop, name="verifily-run-submitter", daemon=True
            )
            self._thread.start()

    def enqueue(self, job_id: str) -> None:
        self.start()
        self._queue.put(job_id)

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            for delay in (*_RETRY_DELAYS, None):
                try:
                    self.submit(job_id)
                    break
                except Exception as e:  # noqa: BLE001 - the thread must outlive any one job
                    if delay is None:
                        self._fail(job_id, f"{type(e).__name__}: {e}")
                    else:
                        log.warning("submitting job %s failed, retrying: %s", job_id, e)
                        time.sleep(delay)

    def _fail(self, job_id: str, message: str) -> None:
        log.error("job %s could not be submitted to Dagster: %s", job_id, message)
        self.store.mark_failed(job_id, message)
        self.events.append(
            job_id, "failed", source="api", details={"error": f"not submitted: {message}"}
        )

    def submit(self, job_id: str) -> None:
        """Create the run under its promised id (unless an earlier attempt did) and enqueue it."""
        row = self.store.get(job_id)
        if row is None or row["submitted_at"] or row["error"]:
            return
        run = self.instance.get_run_by_id(job_id)
        if run is None:
            origins = self.origins.get()
            if origins is None:
                raise RuntimeError(
                    "no Dagster-created run of retrain_job to take the code location's origin "
                    "from; submit one job through the webserver (VERIFILY_DAGSTER_URL) first"
                )
            payload = row["payload"]
            run = launch.create_queued_run(
                self.instance,
                job_id,
                row["model_id"],
                {**payload, "tags": {**payload["tags"], QUEUED_BY: "api"}},
                origins,
            )
        if run.status == dg.DagsterRunStatus.NOT_STARTED:
            # The queued run coordinator only records the enqueue; the daemon launches it
            # through its own workspace, so no workspace is needed here.
            # No workspace needed (see above); Dagster's signature asks for one regardless.
            self.instance.submit_run(job_id, None)  # pyright: ignore[reportArgumentType]
        self.store.mark_submitted(job_id)
