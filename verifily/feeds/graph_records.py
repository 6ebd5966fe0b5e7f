"""From graph entities to dataset records: which node properties become which record field.

Defaults: the node's `input`, `output` and `id` properties; no `meta` properties. Every record's
`meta` also names the ingestion job it came from (`meta.ingestion_job`), so a dataset record can
be traced back to the graph. Values keep their JSON types; Neo4j temporal values become their
ISO-8601 text. Anything else JSON cannot carry (bytes, points, vectors, NaN) is an error naming
the job and the property, never a silently dropped field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from verifily.feeds import FeedError
from verifily.hashing import canonical_json


@dataclass(frozen=True)
class RecordMapping:
    """Node property names for each record field."""

    input: str = "input"
    output: str = "output"
    id: str = "id"
    meta: tuple[str, ...] = field(default_factory=tuple)

    def properties(self) -> list[str]:
        """Every property a window read returns, in a stable order, each once."""
        return list(dict.fromkeys([self.input, self.output, self.id, *self.meta]))


def json_value(value: object, where: str) -> object:
    """A property value as JSON can carry it."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FeedError(f"{where}: {value} is not a number JSON can carry")
        return value
    if isinstance(value, list | tuple):
        return [json_value(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v, where) for k, v in value.items()}
    iso = getattr(value, "iso_format", None)
    if callable(iso):
        # Neo4j's Date, Time, DateTime and Duration: ISO-8601 text, nanoseconds kept.
        return str(iso())
    raise FeedError(f"{where}: a {type(value).__name__} value cannot be a record field")


def to_record(job: str | int, props: dict, mapping: RecordMapping) -> dict:
    """One entity's record; `props` holds the mapped properties (missing ones as None)."""
    where = f"ingestion job {job!r}"
    rec: dict = {}
    for name, prop in (("input", mapping.input), ("output", mapping.output), ("id", mapping.id)):
        value = json_value(props.get(prop), f"{where}, property {prop!r}")
        if value is not None:
            rec[name] = value
    meta = {}
    for prop in mapping.meta:
        value = json_value(props.get(prop), f"{where}, property {prop!r}")
        if value is not None:
            meta[prop] = value
    rec["meta"] = {**meta, "ingestion_job": job}
    return rec


def ordered(records: Iterable[dict]) -> list[dict]:
    """Records in a stable order whatever order the server returned them in: the same window
    always gives the same bytes, so the same dataset hash."""
    return sorted(records, key=canonical_json)
