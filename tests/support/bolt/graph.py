"""The stand-in's in-memory graph: labelled nodes with properties, range indexes, a clock.

Zoned DATETIME values are `Instant`s, encoded on the wire as Bolt 5's UTC structures (`I` with
an offset, `i` with a zone id: seconds since the epoch in UTC, nanoseconds, then the zone).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.support.bolt.packstream import Structure


@dataclass(frozen=True, order=True)
class Instant:
    """A zoned DATETIME: an instant (UTC seconds and nanoseconds) and how it was zoned."""

    seconds: int
    nanos: int
    offset: int = field(default=0, compare=False)
    zone: str | None = field(default=None, compare=False)

    @classmethod
    def from_datetime(cls, t: datetime, nanos: int | None = None) -> Instant:
        t = t if t.tzinfo else t.replace(tzinfo=UTC)
        whole = int(t.replace(microsecond=0).timestamp())
        offset = t.utcoffset()
        return cls(
            whole,
            t.microsecond * 1000 if nanos is None else nanos,
            int(offset.total_seconds()) if offset is not None else 0,
        )

    @classmethod
    def now(cls, shift_seconds: float = 0.0) -> Instant:
        ns = time.time_ns() + int(shift_seconds * 1e9)
        return cls(ns // 1_000_000_000, ns % 1_000_000_000)

    def plus(self, seconds: float) -> Instant:
        ns = self.seconds * 1_000_000_000 + self.nanos + int(seconds * 1e9)
        return Instant(ns // 1_000_000_000, ns % 1_000_000_000, self.offset, self.zone)

    def to_structure(self) -> Structure:
        if self.zone:
            return Structure(b"i", (self.seconds, self.nanos, self.zone))
        return Structure(b"I", (self.seconds, self.nanos, self.offset))


@dataclass
class Node:
    """A node: its legacy integer id, element id, labels and properties."""

    id: int
    labels: set[str]
    props: dict

    @property
    def element_id(self) -> str:
        return f"4:standin:{self.id}"

    def to_structure(self) -> Structure:
        return Structure(b"N", (self.id, sorted(self.labels), self.props, self.element_id))


@dataclass
class Index:
    """A range index on one property of one label."""

    name: str
    label: str
    prop: str
    state: str = "ONLINE"


@dataclass
class Graph:
    """One database's nodes and indexes; every access holds the lock."""

    nodes: dict[int, Node] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    # Added to the server's clock (datetime()), so a test can age jobs without waiting.
    clock_shift: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next: int = 0

    def create(self, labels: set[str], props: dict) -> Node:
        with self.lock:
            node = Node(self._next, set(labels), {k: v for k, v in props.items() if v is not None})
            self.nodes[node.id] = node
            self._next += 1
            return node

    def labelled(self, label: str) -> list[Node]:
        with self.lock:
            return [n for n in self.nodes.values() if label in n.labels]

    def delete(self, node: Node) -> None:
        with self.lock:
            self.nodes.pop(node.id, None)

    def now(self) -> Instant:
        return Instant.now(self.clock_shift)
