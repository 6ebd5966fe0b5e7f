"""Feed resources: where a model's new records come from (JSONL directory or a SQL table)."""

from abc import ABC, abstractmethod
from collections.abc import Iterator

import dagster as dg

from verifily.config.models import FeedSpec
from verifily.feeds import DEFAULT_GAP_TIMEOUT_SECONDS, Pending
from verifily.feeds.jsonl import JsonlFeed
from verifily.feeds.sql import DEFAULT_TABLE, SqlFeed


class FeedDataFetcher(dg.ConfigurableResource, ABC):
    """A feed of records: count what is new since a cursor, read and describe a window.

    Implementations only say which core feed their configuration builds; the feed operations
    themselves live in `verifily.feeds` and are delegated here once.
    """

    @abstractmethod
    def _feed(self) -> JsonlFeed | SqlFeed:
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


def feed_resource(spec: FeedSpec) -> FeedDataFetcher:
    """The resource for a models-config feed; a SQL URL from an env var stays a secret."""
    if spec.kind == "jsonl":
        return JsonlFeedFetcher(path=spec.path or "")
    url = dg.EnvVar(spec.url_env) if spec.url_env else spec.url or ""
    return SqlFeedFetcher(url=url, table=spec.table, gap_timeout_seconds=spec.gap_timeout_seconds)
