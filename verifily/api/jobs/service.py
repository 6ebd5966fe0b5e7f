"""The one object the REST routes and GraphQL resolvers use for jobs: a thin facade over
starting them (`submit`) and reading them (`records`).

A job id is a Dagster run id, so the API, the SDK, the CLI and the Dagster UI show the same
runs. The API holds no state beyond the submission and job event tables.
"""

from __future__ import annotations

import dagster as dg

from verifily.api.jobs.records import JobRecords
from verifily.api.jobs.submit import JobLauncher
from verifily.api.settings import ApiSettings
from verifily.jobstore.events import JobEventStore
from verifily.jobstore.submissions import SubmissionStore


class JobService:
    """Every job operation: start (sync or queued), status, result, record, list, report."""

    def __init__(self, instance: dg.DagsterInstance, settings: ApiSettings):
        self.instance = instance
        self.settings = settings
        self.events = JobEventStore(settings.jobs_db_url)
        self.submissions = SubmissionStore(settings.jobs_db_url)
        self.launcher = JobLauncher(instance, settings, self.events, self.submissions)
        self.records = JobRecords(instance, self.events, self.submissions)
        self.run_sync = self.launcher.run_sync
        self.submit = self.launcher.submit
        self.status = self.records.status
        self.result = self.records.result
        self.record = self.records.record
        self.list_records = self.records.list_records
        self.add_event = self.records.add_event

    def start(self) -> None:
        """Start putting accepted jobs on Dagster's queue, those of earlier processes first."""
        self.launcher.submitter.start()
