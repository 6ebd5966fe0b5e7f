"""Feeds of incoming records: cursors that only ever read what is new (no Dagster here)."""

from __future__ import annotations

from dataclasses import dataclass

from verifily.errors import InputError


class FeedError(InputError):
    """The feed is not in a state a cursor can safely continue from (shrunk, replaced, bad)."""


@dataclass(frozen=True)
class Pending:
    """What is new since a position: how many complete records, and the position after them."""

    count: int
    end: dict
