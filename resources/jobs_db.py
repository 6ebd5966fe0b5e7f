"""The jobs database the jobs API writes and the code location reads: accepted submissions and
every job's events."""

import dagster as dg
from pydantic import Field

from verifily.jobstore.events import JobEventStore
from verifily.jobstore.submissions import SubmissionStore


class JobsDatabase(dg.ConfigurableResource):
    """The jobs API's database (submissions and job events), shared with `verifily serve`."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default VERIFILY_JOBS_DB_URL, else SQLite in DAGSTER_HOME",
    )

    def submissions(self) -> SubmissionStore:
        return SubmissionStore(self.url)

    def events(self) -> JobEventStore:
        return JobEventStore(self.url)
