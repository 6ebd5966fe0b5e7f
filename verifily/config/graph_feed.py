"""A `{kind: neo4j, ...}` feed entry of the models file: where the graph is and how it is laid out.

The URI, user and password come only from the environment (`uri_env`, `user_env`,
`password_env`, defaulting to NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD): the models file never
holds a secret, and a key like `password` is refused with the name of the key to use instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from verifily.errors import InputError
from verifily.feeds import DEFAULT_GRAPH_GRACE_SECONDS
from verifily.feeds.graph_cypher import GraphQueries
from verifily.feeds.graph_records import RecordMapping

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KEYS = {
    "kind", "uri_env", "user_env", "password_env", "database", "label", "job_label",
    "job_property", "properties", "completion_grace_seconds",
}  # fmt: skip
_SECRETS = {"uri": "uri_env", "url": "uri_env", "user": "user_env", "password": "password_env"}


@dataclass(frozen=True)
class GraphFeedSpec:
    """A Neo4j feed: env var names for the connection, the database and the graph's layout."""

    uri_env: str = "NEO4J_URI"
    user_env: str = "NEO4J_USER"
    password_env: str = "NEO4J_PASSWORD"
    database: str | None = None
    queries: GraphQueries = field(default_factory=GraphQueries)
    completion_grace_seconds: float = DEFAULT_GRAPH_GRACE_SECONDS


def _name(raw: dict, key: str, default: str, where: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise InputError(f"{where}.{key} must be a non-empty name, got {value!r}")
    return value


def _env(raw: dict, key: str, default: str, where: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not _ENV.match(value):
        raise InputError(f"{where}.{key} must name an environment variable, got {value!r}")
    return value


def _mapping(raw: object, where: str) -> RecordMapping:
    if raw is None:
        return RecordMapping()
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a mapping of record fields to node properties")
    unknown = sorted(set(raw) - {"input", "output", "id", "meta"})
    if unknown:
        raise InputError(f"{where}: unknown record field(s) {', '.join(map(str, unknown))}; "
                         "known: input, output, id, meta")  # fmt: skip
    meta = raw.get("meta", [])
    if not isinstance(meta, list) or not all(isinstance(m, str) and m for m in meta):
        raise InputError(f"{where}.meta must be a list of property names, got {meta!r}")
    return RecordMapping(
        input=_name(raw, "input", "input", where),
        output=_name(raw, "output", "output", where),
        id=_name(raw, "id", "id", where),
        meta=tuple(meta),
    )


def parse_graph_feed(raw: dict, where: str) -> GraphFeedSpec:
    """Validate a neo4j feed entry; every error names the key."""
    for key, instead in _SECRETS.items():
        if key in raw:
            raise InputError(
                f"{where}: a neo4j feed takes '{key}' from the environment only: give "
                f"'{instead}', the name of the variable that holds it"
            )
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {sorted(KEYS)}")
    database = raw.get("database")
    if database is not None and (not isinstance(database, str) or not database):
        raise InputError(f"{where}.database must be a database name, got {database!r}")
    grace = raw.get("completion_grace_seconds", DEFAULT_GRAPH_GRACE_SECONDS)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
        raise InputError(f"{where}.completion_grace_seconds must be a number >= 0, got {grace!r}")
    return GraphFeedSpec(
        uri_env=_env(raw, "uri_env", "NEO4J_URI", where),
        user_env=_env(raw, "user_env", "NEO4J_USER", where),
        password_env=_env(raw, "password_env", "NEO4J_PASSWORD", where),
        database=database,
        queries=GraphQueries(
            label=_name(raw, "label", "Entity", where),
            job_label=_name(raw, "job_label", "IngestionJob", where),
            job_property=_name(raw, "job_property", "ingestion_job", where),
            mapping=_mapping(raw.get("properties"), f"{where}.properties"),
        ),
        completion_grace_seconds=float(grace),
    )
