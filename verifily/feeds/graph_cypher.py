"""The graph feed's Cypher: one parametrised query per tick, served by two range indexes.

Labels and property names cannot be query parameters in Cypher, so they are written into the
text, backtick-quoted (a backtick in a name is doubled); every value is a parameter. The
indexes the queries rely on (`index_statements`) must exist: the feed checks once per process
and refuses to run without them rather than scan the graph every tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifily.feeds.graph_records import RecordMapping

# The value of an ingestion job node's `status` once the job is complete.
COMPLETED = "completed"


def quote(name: str) -> str:
    """A label or property name as a Cypher identifier."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class GraphQueries:
    """The feed's queries for one graph layout: entities labelled `label`, each carrying its job's
    id in `job_property`; one `job_label` node per job with `id`, `status`, `completed_at` (a
    DATETIME) and optionally `started_at`."""

    label: str = "Entity"
    job_label: str = "IngestionJob"
    job_property: str = "ingestion_job"
    mapping: RecordMapping = RecordMapping()

    def _jobs_after(self, where: str) -> str:
        job, entity, prop = quote(self.job_label), quote(self.label), quote(self.job_property)
        return (
            f"OPTIONAL MATCH (j:{job})\n"
            f"WHERE {where} AND j.status = $completed\n"
            "WITH folded, j ORDER BY j.completed_at, j.id LIMIT $max_jobs\n"
            f"OPTIONAL MATCH (e:{entity}) WHERE e.{prop} = j.id\n"
            "RETURN folded, datetime() AS now, j.id AS job, j.completed_at AS completed_at,\n"
            "       j.started_at AS started_at, count(e) AS entities\n"
            "ORDER BY completed_at, job"
        )

    @property
    def tick_from_start(self) -> str:
        """Every completed job (up to $max_jobs) and its entity count."""
        return "WITH null AS folded\n" + self._jobs_after("j.completed_at IS NOT NULL")

    @property
    def tick_after(self) -> str:
        """The count of completed jobs at or before $hwm, then every completed job after it (up
        to $max_jobs) with its entity count: index range seeks, never a label scan."""
        job = quote(self.job_label)
        return (
            f"MATCH (done:{job})\n"
            "WHERE done.completed_at <= $hwm AND done.status = $completed\n"
            "WITH count(done) AS folded\n" + self._jobs_after("j.completed_at > $hwm")
        )

    @property
    def latest(self) -> str:
        """The newest completion time and how many jobs completed up to it (`start_at: end`)."""
        return (
            f"MATCH (j:{quote(self.job_label)})\n"
            "WHERE j.completed_at IS NOT NULL AND j.status = $completed\n"
            "RETURN max(j.completed_at) AS hwm, count(j) AS folded"
        )

    @property
    def window(self) -> str:
        """The mapped properties of every entity of the jobs in $jobs."""
        props = ", ".join(f".{quote(p)}" for p in self.mapping.properties())
        return (
            f"MATCH (e:{quote(self.label)}) WHERE e.{quote(self.job_property)} IN $jobs\n"
            f"RETURN e.{quote(self.job_property)} AS job, e {{{props}}} AS record"
        )

    show_indexes = (
        "SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state\n"
        "RETURN name, type, entityType, labelsOrTypes, properties, state"
    )

    def required_indexes(self) -> list[tuple[str, str]]:
        """(label, property) pairs that need a range index."""
        return [(self.label, self.job_property), (self.job_label, "completed_at")]

    def index_statements(self) -> list[str]:
        """The statements that create the required indexes (idempotent)."""
        return [
            f"CREATE INDEX IF NOT EXISTS FOR (n:{quote(label)}) ON (n.{quote(prop)})"
            for label, prop in self.required_indexes()
        ]
