"""The one object the REST routes and GraphQL resolvers use for jobs: a thin facade over
starting them (`submit`) and reading them (`records`).

A job id is given when the job is accepted and never changes. A sync retrain's job id is its
Dagster run id; a queued job's run, made later by the code location, carries its job id as a
tag, and every read accepts either id. The API holds no state beyond the jobs database.
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
        self.launcher = JobLauncher(instance, self.submissions)
        self.records = JobRecords(instance, self.events, self.submissions)
        self.run_sync = self.launcher.run_sync
        self.submit = self.launcher.submit
        self.status = self.records.status
        self.result = self.records.result
        self.record = self.records.record
        self.list_records = self.records.list_records
        self.add_event = self.records.add_event
