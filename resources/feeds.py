"""Feed resources: where a model's new records come from (a JSONL directory, a SQL table or a
Neo4j graph)."""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from verifily.config.models import FeedSpec
from verifily.feeds import (
    DEFAULT_GAP_TIMEOUT_SECONDS,
    DEFAULT_GRAPH_GRACE_SECONDS,
    FeedError,
    Pending,
)
from verifily.feeds.graph_cypher import GraphQueries
from verifily.feeds.graph_records import RecordMapping
from verifily.feeds.jsonl import JsonlFeed
from verifily.feeds.sql import DEFAULT_TABLE, SqlFeed

if TYPE_CHECKING:
    # The neo4j driver costs ~0.5 s to import: only a neo4j feed's setup imports it.
    from verifily.feeds.graph import GraphFeed


class FeedDataFetcher(dg.ConfigurableResource, ABC):
    """A feed of records: count what is new since a cursor, read and describe a window.

    Implementations only say which core feed their configuration builds; the feed operations
    themselves live in `verifily.feeds` and are delegated here once.
    """

    @abstractmethod
    def _feed(self) -> "JsonlFeed | SqlFeed | GraphFeed":
        """The core feed this resource's configuration describes."""

    def start_position(self, start_at: str) -> dict:
        """The position a new cursor starts at ('beginning' or 'end')."""
        return self._feed().start_position(start_at)

    def pending(self, position: dict, limit: int | None = None) -> Pending:
        """How many complete records follow `position` (at most `limit`), and the end."""
        return self._feed().pending(position, limit)

    def read_window(self, start: dict, end: dict) -> Iterator[dict]:
        """The records between two positions, in feed order."""
        return self._feed().read_window(start, end)

    def describe_window(self, start: dict, end: dict) -> dict:
        """A small JSON-ready description of a window for tags and the UI."""
        return self._feed().describe_window(start, end)

    def compact(self, position: dict) -> dict:
        """The same position in its smallest form, for the cursor (default: unchanged)."""
        return position


class JsonlFeedFetcher(FeedDataFetcher):
    """An append-only directory of JSONL files (the embedded default)."""

    path: str

    def _feed(self) -> JsonlFeed:
        return JsonlFeed(self.path)

    def compact(self, position: dict) -> dict:
        return self._feed().compact(position)


class SqlFeedFetcher(FeedDataFetcher):
    """A SQL table of records (SQLite, PostgreSQL, ... through SQLAlchemy)."""

    url: str
    table: str = DEFAULT_TABLE
    gap_timeout_seconds: float = DEFAULT_GAP_TIMEOUT_SECONDS

    def _feed(self) -> SqlFeed:
        return SqlFeed(self.url, self.table, self.gap_timeout_seconds)


class Neo4jFeedFetcher(FeedDataFetcher):
    """Entities in a Neo4j graph, consumed by completed ingestion job (one driver per use)."""

    uri: str
    user: str
    password: str
    database: str | None = None
    label: str = "Entity"
    job_label: str = "IngestionJob"
    job_property: str = "ingestion_job"
    input_property: str = "input"
    output_property: str = "output"
    id_property: str = "id"
    meta_properties: list[str] = []
    completion_grace_seconds: float = DEFAULT_GRAPH_GRACE_SECONDS

    _graph: Any = PrivateAttr(default=None)  # a GraphFeed once set up

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Imported here: the neo4j driver costs every process ~0.5 s; only neo4j feeds pay it.
        from verifily.feeds.graph import GraphFeed

        queries = GraphQueries(
            label=self.label,
            job_label=self.job_label,
            job_property=self.job_property,
            mapping=RecordMapping(
                input=self.input_property,
                output=self.output_property,
                id=self.id_property,
                meta=tuple(self.meta_properties),
            ),
        )
        self._graph = GraphFeed(
            self.uri,
            self.user,
            self.password,
            database=self.database,
            queries=queries,
            grace_seconds=self.completion_grace_seconds,
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None

    def _feed(self) -> "GraphFeed":
        if self._graph is None:
            raise FeedError("the neo4j feed resource is used outside its setup and teardown")
        return self._graph

    def compact(self, position: dict) -> dict:
        return self._feed().compact(position)


def feed_resource(spec: FeedSpec) -> FeedDataFetcher:
    """The resource for a models-config feed; URLs, users and passwords from env vars stay
    secrets (dg.EnvVar: read where the resource is used, never stored in the definitions)."""
    if spec.kind == "jsonl":
        return JsonlFeedFetcher(path=spec.path or "")
    if spec.graph is not None:
        g, q = spec.graph, spec.graph.queries
        return Neo4jFeedFetcher(
            uri=dg.EnvVar(g.uri_env),
            user=dg.EnvVar(g.user_env),
            password=dg.EnvVar(g.password_env),
            database=g.database,
            label=q.label,
            job_label=q.job_label,
            job_property=q.job_property,
            input_property=q.mapping.input,
            output_property=q.mapping.output,
            id_property=q.mapping.id,
            meta_properties=list(q.mapping.meta),
            completion_grace_seconds=g.completion_grace_seconds,
        )
    url = dg.EnvVar(spec.url_env) if spec.url_env else spec.url or ""
    return SqlFeedFetcher(url=url, table=spec.table, gap_timeout_seconds=spec.gap_timeout_seconds)
