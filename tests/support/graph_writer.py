"""A feed processor for tests: writes entities and completes ingestion jobs through the real
driver, with the same statements against the Bolt stand-in and a real Neo4j."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import LiteralString, cast

import neo4j

from verifily.feeds.graph_cypher import GraphQueries, quote


def _q(text: str) -> LiteralString:
    # Built from backtick-quoted names only, like the feed's own queries.
    return cast(LiteralString, text)


class GraphWriter:
    """Entities of a layout (`queries`) written the way the IntelGraph feed processor does."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str | None = None,
        queries: GraphQueries | None = None,
    ):
        self.q = queries or GraphQueries()
        self.database = database
        self.driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))

    def close(self) -> None:
        self.driver.close()

    def _write(self, text: str, **params) -> None:
        self.driver.execute_query(_q(text), params, database_=self.database)

    def create_indexes(self) -> None:
        """The indexes the feed requires (deploy/README.md gives the same statements)."""
        for statement in self.q.index_statements():
            self._write(statement)

    def write_entities(self, job: str | int, records: list[dict]) -> None:
        """Entities of `job`, one node per record (its fields become node properties)."""
        rows = [
            {**{k: v for k, v in r.items() if k != "meta"}, self.q.job_property: job}
            for r in records
        ]
        self._write(f"UNWIND $rows AS row CREATE (e:{quote(self.q.label)}) SET e = row", rows=rows)

    def set_job(self, job: str | int, **props) -> None:
        """Create or update a job node's properties (None removes one)."""
        self._write(
            f"MERGE (j:{quote(self.q.job_label)} {{id: $id}}) SET j += $props", id=job, props=props
        )

    def complete_job(
        self, job: str | int, at: datetime | None = None, started_at: datetime | None = None
    ) -> datetime:
        """Mark a job complete, as the feed processor does after its last entity is in."""
        at = at or datetime.now(UTC)
        self.set_job(job, status="completed", completed_at=at, started_at=started_at)
        return at

    def delete_where(self, label: str, prop: str, value: object) -> None:
        """Delete every `label` node whose `prop` equals `value`."""
        self._write(
            f"MATCH (n:{quote(label)}) WHERE n.{quote(prop)} = $value DETACH DELETE n", value=value
        )

    def await_indexes(self, timeout: float = 60.0) -> None:
        """Wait until the required indexes are ONLINE (a real server builds them a while)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self._index_states()
            if all(states.get(k, (None, ""))[1] == "ONLINE" for k in self.q.required_indexes()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"indexes not online after {timeout}s: {states}")
            time.sleep(0.2)

    def _index_states(self) -> dict[tuple[str, str], tuple[str, str]]:
        records, _, _ = self.driver.execute_query(_q(self.q.show_indexes), database_=self.database)
        return {
            (r["labelsOrTypes"][0], r["properties"][0]): (r["name"], r["state"])
            for r in records
            if r["labelsOrTypes"] and r["properties"]
        }

    def drop_indexes(self) -> None:
        """Drop the indexes `create_indexes` made."""
        states = self._index_states()
        for key in self.q.required_indexes():
            if key in states:
                self._write(f"DROP INDEX {quote(states[key][0])} IF EXISTS")

    def clear(self) -> None:
        """Delete every entity and job node of the layout."""
        for label in (self.q.label, self.q.job_label):
            self._write(f"MATCH (n:{quote(label)}) DETACH DELETE n")
