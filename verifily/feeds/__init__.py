"""Feeds of incoming records: cursors that only ever read what is new (no Dagster here)."""

from __future__ import annotations

from dataclasses import dataclass

from verifily.errors import InputError

# How long a hole in a SQL feed's sequence may stay open before the feed treats it as a
# rolled-back insert and moves past it: longer than an ingestion transaction should stay open.
DEFAULT_GAP_TIMEOUT_SECONDS = 300.0


class FeedError(InputError):
    """The feed is not in a state a cursor can safely continue from (shrunk, replaced, bad)."""


@dataclass(frozen=True)
class Pending:
    """What is new since a position: how many complete records, and the position after them."""

    count: int
    end: dict
    # Why the window stops short of what is in the feed (e.g. a hole that may still fill).
    note: str = ""
