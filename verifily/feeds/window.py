"""A feed window: the records a feed-triggered retrain trains on, and when they arrived.

It travels as one run tag (JSON), and from there into the MLflow run's parameters, the jobs
API's record and every Kubernetes step Job's labels and env.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

# Run tags are stored whole by Dagster, but shown in the UI; a feed description longer than this
# (thousands of file names, say) is summarised.
MAX_FEED_JSON = 2000


@dataclass(frozen=True)
class DataWindow:
    """Records `first` (exclusive) to `last` of a model's feed, counted from the sensor's start.

    `start` and `end` are ISO-8601 UTC times bounding when the records arrived: the feed's own
    ingestion times where it records them (SQL), otherwise the times the sensor cut the previous
    window and this one (JSONL). `feed` is the feed's description (files and byte ranges,
    sequence numbers, ingestion jobs).
    """

    first: int
    last: int
    start: str | None = None
    end: str | None = None
    feed: dict = field(default_factory=dict)

    @property
    def record_count(self) -> int:
        return self.last - self.first

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        """Compact, key-sorted JSON; an over-long feed description is cut to its kind."""
        d = self.to_dict()
        if len(json.dumps(d["feed"])) > MAX_FEED_JSON:
            d["feed"] = {"kind": d["feed"].get("kind"), "summarised": True}
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> DataWindow | None:
        """The window a tag holds; None for an absent or unreadable tag (never an exception)."""
        if not text:
            return None
        try:
            raw = json.loads(text)
            return cls(
                first=int(raw["first"]),
                last=int(raw["last"]),
                start=raw.get("start"),
                end=raw.get("end"),
                feed=dict(raw.get("feed") or {}),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def utc_iso(t: datetime | None = None) -> str:
    """ISO-8601 UTC with a Z, seconds precision (now by default)."""
    t = t or datetime.now(UTC)
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compact_time(iso: str) -> str:
    """`2026-11-01T10:00:00Z` -> `20261101T100000Z` (label-safe); other text is left alone."""
    return iso.replace("-", "").replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
