"""The Cypher the stand-in understands: the graph feed's own queries, the statements a feed
processor (and the tests) write with, and index administration; nothing else.

Each statement is recognised by its exact shape (whitespace aside), with labels and property
names taken from the text, and evaluated on the in-memory graph with Cypher's semantics for
what these statements use: `=` between numbers of either type, comparisons across types being
null (so filtered out), ORDER BY in Cypher's orderability order with nulls last, aggregation
over no rows giving one row. Any other statement fails as a real server fails on a syntax
error, so a change to the feed's queries cannot pass here unnoticed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.bolt.graph import Graph, Index, Instant, Node

_ID = r"`((?:[^`]|``)+)`"
_NAME = r"(`(?:[^`]|``)+`|\w+)"


class CypherError(Exception):
    """A statement the server refuses: a Neo4j status code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Outcome:
    """A statement's result: columns, rows, and (for writes) the change to apply on commit."""

    fields: list[str]
    rows: list[list] = field(default_factory=list)
    apply: Callable[[], None] | None = None

    @property
    def writes(self) -> bool:
        return self.apply is not None


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def _order(value: object) -> tuple:
    """Cypher's orderability: maps, nodes, lists, temporal, strings, booleans, numbers, null."""
    if value is None:
        return (14,)
    if isinstance(value, bool):
        return (12, value)
    if isinstance(value, int | float):
        return (13, value)
    if isinstance(value, str):
        return (11, value)
    if isinstance(value, Instant):
        return (5, value.seconds, value.nanos)
    if isinstance(value, list):
        return (3, [_order(v) for v in value])
    if isinstance(value, Node):
        return (1, value.id)
    return (0, str(value))


def _equal(a: object, b: object) -> bool:
    """Cypher `=` as a WHERE clause sees it (null and mixed types are not equal)."""
    if a is None or b is None:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _compare(a: object, b: object) -> int | None:
    """-1/0/1, or None where Cypher's comparison is null (different types, nulls)."""
    if isinstance(a, Instant) and isinstance(b, Instant):
        return (a > b) - (a < b)
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    return None


def _property(value: object) -> object:
    """A value a node property may hold: not a map, and lists only of one simple type."""
    if isinstance(value, dict) or (
        isinstance(value, list)
        and (
            any(isinstance(v, dict | list) for v in value)
            or len({type(v) for v in value if v is not None}) > 1
        )
    ):
        raise CypherError(
            "Neo.ClientError.Statement.TypeError",
            "Property values can only be of primitive types or arrays thereof. "
            f"Encountered: {value!r}.",
        )
    return value


def _param(params: dict, name: str) -> object:
    if name not in params:
        raise CypherError(
            "Neo.ClientError.Statement.ParameterMissing", f"Expected parameter(s): {name}"
        )
    return params[name]


_TICK = re.compile(
    r"^(?:WITH null AS folded|MATCH \(done:" + _ID + r"\) WHERE done\.completed_at <= \$hwm "
    r"AND done\.status = \$completed WITH count\(done\) AS folded) "
    r"OPTIONAL MATCH \(j:" + _ID + r"\) WHERE (j\.completed_at IS NOT NULL|j\.completed_at > "
    r"\$hwm) AND j\.status = \$completed WITH folded, j ORDER BY j\.completed_at, j\.id "
    r"LIMIT \$max_jobs OPTIONAL MATCH \(e:" + _ID + r"\) WHERE e\." + _ID + r" = j\.id "
    r"RETURN folded, datetime\(\) AS now, j\.id AS job, j\.completed_at AS completed_at, "
    r"j\.started_at AS started_at, count\(e\) AS entities ORDER BY completed_at, job$"
)
_LATEST = re.compile(
    r"^MATCH \(j:" + _ID + r"\) WHERE j\.completed_at IS NOT NULL AND j\.status = \$completed "
    r"RETURN max\(j\.completed_at\) AS hwm, count\(j\) AS folded$"
)
_WINDOW = re.compile(
    r"^MATCH \(e:" + _ID + r"\) WHERE e\." + _ID + r" IN \$jobs RETURN e\." + _ID + r" AS job, "
    r"e \{((?:\." + _ID + r"(?:, )?)+)\} AS record$"
)
_SHOW = re.compile(
    r"^SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state "
    r"RETURN name, type, entityType, labelsOrTypes, properties, state$"
)
_CREATE_INDEX = re.compile(
    r"^CREATE INDEX (?:"
    + _NAME
    + r" )?IF NOT EXISTS FOR \(n:"
    + _ID
    + r"\) ON \(n\."
    + _ID
    + r"\)$"
)
_DROP_INDEX = re.compile(r"^DROP INDEX " + _NAME + r" IF EXISTS$")
_CREATE_ROWS = re.compile(r"^UNWIND \$rows AS row CREATE \(e:" + _ID + r"\) SET e = row$")
_MERGE_JOB = re.compile(r"^MERGE \(j:" + _ID + r" \{id: \$id\}\) SET j \+= \$props$")
_DELETE_WHERE = re.compile(
    r"^MATCH \(n:" + _ID + r"\) WHERE n\." + _ID + r" = \$value DETACH DELETE n$"
)
_DELETE_ALL = re.compile(r"^MATCH \(n:" + _ID + r"\) DETACH DELETE n$")
_RETURN_ONE = re.compile(r"^RETURN 1 AS one$")


def _tick(graph: Graph, m: re.Match, params: dict) -> Outcome:
    done_label, job_label, where, entity_label, prop = (
        _unquote(f"`{g}`") if g else None for g in m.groups()
    )
    after = "> $hwm" in (where or "")
    completed = _param(params, "completed")
    limit = _param(params, "max_jobs")
    hwm = _param(params, "hwm") if after else None
    if done_label is not None and done_label != job_label:
        raise CypherError("Neo.ClientError.Statement.SyntaxError", "labels differ")
    jobs = [n for n in graph.labelled(job_label or "") if _equal(n.props.get("status"), completed)]
    folded = None
    if after:
        order = [_compare(n.props.get("completed_at"), hwm) for n in jobs]
        folded = sum(1 for c in order if c is not None and c <= 0)
        jobs = [n for n in jobs if _compare(n.props.get("completed_at"), hwm) == 1]
    else:
        jobs = [n for n in jobs if n.props.get("completed_at") is not None]
    jobs.sort(key=lambda n: (_order(n.props.get("completed_at")), _order(n.props.get("id"))))
    jobs = jobs[: int(limit)] if isinstance(limit, int) else jobs
    now = graph.now()
    entities = graph.labelled(entity_label or "")
    rows = [
        [
            folded,
            now,
            j.props.get("id"),
            j.props.get("completed_at"),
            j.props.get("started_at"),
            sum(1 for e in entities if _equal(e.props.get(prop or ""), j.props.get("id"))),
        ]
        for j in jobs
    ] or [[folded, now, None, None, None, 0]]
    rows.sort(key=lambda r: (_order(r[3]), _order(r[2])))
    fields = ["folded", "now", "job", "completed_at", "started_at", "entities"]
    return Outcome(fields, rows)


def _latest(graph: Graph, m: re.Match, params: dict) -> Outcome:
    completed = _param(params, "completed")
    jobs = [
        n
        for n in graph.labelled(_unquote(f"`{m.group(1)}`"))
        if n.props.get("completed_at") is not None and _equal(n.props.get("status"), completed)
    ]
    latest = max((n.props["completed_at"] for n in jobs), key=_order, default=None)
    return Outcome(["hwm", "folded"], [[latest, len(jobs)]])


def _window(graph: Graph, m: re.Match, params: dict) -> Outcome:
    label, prop, prop_again, projection = m.group(1), m.group(2), m.group(3), m.group(4)
    label, prop = _unquote(f"`{label}`"), _unquote(f"`{prop}`")
    if _unquote(f"`{prop_again}`") != prop:
        raise CypherError("Neo.ClientError.Statement.SyntaxError", "job property differs")
    wanted = [_unquote(f"`{p}`") for p in re.findall(_ID, projection)]
    jobs = _param(params, "jobs")
    if not isinstance(jobs, list):
        raise CypherError("Neo.ClientError.Statement.TypeError", "$jobs must be a list")
    rows = [
        [e.props.get(prop), {p: e.props.get(p) for p in wanted}]
        for e in graph.labelled(label)
        if any(_equal(e.props.get(prop), j) for j in jobs)
    ]
    return Outcome(["job", "record"], rows)


def _show_indexes(graph: Graph, m: re.Match, params: dict) -> Outcome:
    # A Neo4j 5 database always has its two token lookup indexes.
    rows = [
        ["index_343aff4e", "LOOKUP", "NODE", None, None, "ONLINE"],
        ["index_f7700477", "LOOKUP", "RELATIONSHIP", None, None, "ONLINE"],
    ]
    with graph.lock:
        rows += [
            [i.name, "RANGE", "NODE", [i.label], [i.prop], i.state] for i in graph.indexes.values()
        ]
    fields = ["name", "type", "entityType", "labelsOrTypes", "properties", "state"]
    return Outcome(fields, sorted(rows, key=lambda r: r[0]))


def _create_index(graph: Graph, m: re.Match, params: dict) -> Outcome:
    label, prop = _unquote(f"`{m.group(2)}`"), _unquote(f"`{m.group(3)}`")
    name = _unquote(m.group(1)) if m.group(1) else None

    def apply() -> None:
        with graph.lock:
            if any(i.label == label and i.prop == prop for i in graph.indexes.values()):
                return
            auto = "index_" + hashlib.sha256(f"{label}\0{prop}".encode()).hexdigest()[:8]
            graph.indexes[name or auto] = Index(name or auto, label, prop)

    return Outcome([], apply=apply)


def _drop_index(graph: Graph, m: re.Match, params: dict) -> Outcome:
    name = _unquote(m.group(1))

    def apply() -> None:
        with graph.lock:
            graph.indexes.pop(name, None)

    return Outcome([], apply=apply)


def _create_rows(graph: Graph, m: re.Match, params: dict) -> Outcome:
    label, rows = _unquote(f"`{m.group(1)}`"), _param(params, "rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CypherError("Neo.ClientError.Statement.TypeError", "$rows must be a list of maps")
    for r in rows:
        for v in r.values():
            _property(v)

    def apply() -> None:
        for r in rows:
            graph.create({label}, r)

    return Outcome([], apply=apply)


def _merge_job(graph: Graph, m: re.Match, params: dict) -> Outcome:
    label, job, props = _unquote(f"`{m.group(1)}`"), _param(params, "id"), _param(params, "props")
    if not isinstance(props, dict):
        raise CypherError("Neo.ClientError.Statement.TypeError", "$props must be a map")
    for v in props.values():
        _property(v)

    def apply() -> None:
        with graph.lock:
            node = next((n for n in graph.labelled(label) if _equal(n.props.get("id"), job)), None)
            node = node or graph.create({label}, {"id": job})
            for k, v in props.items():
                if v is None:
                    node.props.pop(k, None)
                else:
                    node.props[k] = v

    return Outcome([], apply=apply)


def _delete_where(graph: Graph, m: re.Match, params: dict) -> Outcome:
    label, prop, value = (
        _unquote(f"`{m.group(1)}`"),
        _unquote(f"`{m.group(2)}`"),
        params.get("value"),
    )

    def apply() -> None:
        for n in graph.labelled(label):
            if _equal(n.props.get(prop), value):
                graph.delete(n)

    return Outcome([], apply=apply)


def _delete_all(graph: Graph, m: re.Match, params: dict) -> Outcome:
    label = _unquote(f"`{m.group(1)}`")

    def apply() -> None:
        for n in graph.labelled(label):
            graph.delete(n)

    return Outcome([], apply=apply)


STATEMENTS: list[tuple[re.Pattern, Callable[[Graph, re.Match, dict], Outcome]]] = [
    (_TICK, _tick),
    (_LATEST, _latest),
    (_WINDOW, _window),
    (_SHOW, _show_indexes),
    (_CREATE_INDEX, _create_index),
    (_DROP_INDEX, _drop_index),
    (_CREATE_ROWS, _create_rows),
    (_MERGE_JOB, _merge_job),
    (_DELETE_WHERE, _delete_where),
    (_DELETE_ALL, _delete_all),
    (_RETURN_ONE, lambda g, m, p: Outcome(["one"], [[1]])),
]


def evaluate(graph: Graph, query: str, params: dict) -> Outcome:
    """The outcome of one statement, or a CypherError as a server would report it."""
    text = " ".join(query.split())
    for pattern, handler in STATEMENTS:
        m = pattern.match(text)
        if m:
            return handler(graph, m, params)
    raise CypherError(
        "Neo.ClientError.Statement.SyntaxError",
        f"the Bolt stand-in does not understand this statement: {text[:300]}",
    )
