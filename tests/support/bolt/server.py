"""A loopback stand-in for a Neo4j server, speaking Bolt 5.0-5.8 to the official driver.

Written from the Bolt specification (neo4j.com/docs/bolt/current/) and checked against what the
neo4j Python driver 6.x sends and expects:

- handshake: the 0x6060B017 preamble, four version proposals with ranges, and the v1 version
  manifest handshake (`00 00 01 FF`: the server lists what it offers, the client picks one);
- messages in chunks (2-byte sizes, a 0-size chunk ends a message), PackStream values;
- HELLO, then LOGON with basic auth from Bolt 5.1 (in HELLO itself on 5.0); a wrong password is
  a `Neo.ClientError.Security.Unauthorized` FAILURE and a closed connection;
- BEGIN/RUN/PULL (with `n` and `has_more` paging)/DISCARD/COMMIT/ROLLBACK, auto-commit RUN,
  RESET, GOODBYE, TELEMETRY (5.4+), the FAILED state in which everything but RESET is IGNORED,
  and write statements refused in read transactions;
- ROUTE: answered with this server in every role, or (routing=False) refused the way a server
  without routing refuses it;
- FAILURE metadata in the pre-GQL form before 5.7 and the GQL form (gql_status, description,
  neo4j_code, diagnostic_record) from 5.7 on;
- fault injection per statement: any Neo4j error code (e.g. a transient one the driver must
  retry) or a dropped connection, for the next N matching RUNs.

Statements are evaluated by `tests.support.bolt.cypher` on in-memory graphs, one per database.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from tests.support.bolt.cypher import CypherError, Outcome, evaluate
from tests.support.bolt.graph import Graph, Instant
from tests.support.bolt.packstream import Structure, Unpacker, pack

PREAMBLE = b"\x60\x60\xb0\x17"
MANIFEST_V1 = b"\x00\x00\x01\xff"
AGENT = "Neo4j/5.26.0"
# GQL statuses the stand-in reports for the codes it uses (Bolt 5.7+ FAILURE metadata).
_GQL = {
    "Neo.ClientError.Security.Unauthorized": "42NFF",
    "Neo.ClientError.Statement.SyntaxError": "42001",
    "Neo.ClientError.Statement.AccessMode": "08N09",
    "Neo.ClientError.Database.DatabaseNotFound": "22000",
    "Neo.ClientError.Procedure.ProcedureNotFound": "42N08",
    "Neo.ClientError.Request.Invalid": "08N06",
}

HELLO, GOODBYE, RESET, RUN, BEGIN, COMMIT, ROLLBACK = 0x01, 0x02, 0x0F, 0x10, 0x11, 0x12, 0x13
DISCARD, PULL, TELEMETRY, ROUTE, LOGON, LOGOFF = 0x2F, 0x3F, 0x54, 0x66, 0x6A, 0x6B
SUCCESS, RECORD, IGNORED, FAILURE = b"\x70", b"\x71", b"\x7e", b"\x7f"
NAMES = {
    HELLO: "HELLO", GOODBYE: "GOODBYE", RESET: "RESET", RUN: "RUN", BEGIN: "BEGIN",
    COMMIT: "COMMIT", ROLLBACK: "ROLLBACK", DISCARD: "DISCARD", PULL: "PULL",
    TELEMETRY: "TELEMETRY", ROUTE: "ROUTE", LOGON: "LOGON", LOGOFF: "LOGOFF",
}  # fmt: skip


@dataclass
class Fault:
    """Fail the next `times` RUNs whose statement contains `match` ("" matches any): with the
    Neo4j error `code`, or, with code "disconnect", by dropping the connection."""

    match: str
    code: str
    message: str = "injected by the Bolt stand-in"
    times: int = 1


@dataclass
class Run:
    """One RUN as the server received it."""

    connection: int
    database: str
    mode: str
    query: str
    params: dict


class _Closed(Exception):
    pass


def _param(value: object) -> object:
    """Parameters as the graph holds them: zoned DATETIME structures become Instants."""
    if isinstance(value, Structure) and value.tag == b"I" and len(value.fields) == 3:
        return Instant(*value.fields)
    if isinstance(value, Structure) and value.tag == b"i" and len(value.fields) == 3:
        return Instant(value.fields[0], value.fields[1], 0, value.fields[2])
    if isinstance(value, list):
        return [_param(v) for v in value]
    if isinstance(value, dict):
        return {k: _param(v) for k, v in value.items()}
    return value


class _Connection:
    """One client connection: handshake, then messages until GOODBYE or a closed socket."""

    def __init__(self, server: BoltStandin, sock: socket.socket, number: int):
        self.server, self.sock, self.number = server, sock, number
        self.version = (0, 0)
        self.state = "CONNECTED"
        self.tx: dict | None = None  # {"db", "mode", "pending": [apply...]}
        self.result: list[list] = []
        self.result_meta: dict = {}

    # --- wire ----------------------------------------------------------------------------
    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise _Closed()
            data += chunk
        return data

    def _read_message(self) -> Structure:
        body = b""
        while True:
            size = int.from_bytes(self._recv(2), "big")
            if size == 0:
                if body:
                    break
                continue  # a NOOP chunk between messages
            body += self._recv(size)
        msg = Unpacker(body).unpack()
        if not isinstance(msg, Structure):
            raise _Closed()
        return msg

    def _send(self, tag: bytes, *fields: object) -> None:
        data = pack(Structure(tag, tuple(fields)))
        out = bytearray()
        for i in range(0, len(data), 0xFFFF):
            chunk = data[i : i + 0xFFFF]
            out += len(chunk).to_bytes(2, "big") + chunk
        out += b"\x00\x00"
        self.sock.sendall(out)

    def _failure(self, code: str, message: str) -> None:
        if self.version >= (5, 7):
            meta = {
                "neo4j_code": code,
                "message": message,
                "gql_status": _GQL.get(code, "50N42"),
                "description": f"error: {message}",
                "diagnostic_record": {
                    "OPERATION": "",
                    "OPERATION_CODE": "0",
                    "CURRENT_SCHEMA": "/",
                    "_classification": code.split(".")[1].upper(),
                },
            }
        else:
            meta = {"code": code, "message": message}
        self._send(FAILURE, meta)
        self.state, self.tx, self.result = "FAILED", None, []

    # --- handshake -----------------------------------------------------------------------
    def _handshake(self) -> bool:
        if self._recv(4) != PREAMBLE:
            return False
        proposals = [self._recv(4) for _ in range(4)]
        offered = self.server.versions()
        if self.server.manifest and MANIFEST_V1 in proposals:
            top = max(offered)
            low = min(v for v in offered if v[0] == top[0])
            self.sock.sendall(
                MANIFEST_V1 + bytes([1]) + bytes([0, top[1] - low[1], top[1], top[0]]) + b"\x00"
            )
            chosen = self._recv(4)
            self._recv(1)  # the client's capabilities (none defined yet)
            self.version = (chosen[3], chosen[2])
            return self.version in offered
        for p in proposals:
            if p == MANIFEST_V1:
                continue
            span, minor, major = p[1], p[2], p[3]
            fits = [v for v in offered if v[0] == major and minor - span <= v[1] <= minor]
            if fits:
                self.version = max(fits)
                self.sock.sendall(bytes([0, 0, self.version[1], self.version[0]]))
                return True
        self.sock.sendall(b"\x00\x00\x00\x00")
        return False

    # --- messages ------------------------------------------------------------------------
    def serve(self) -> None:
        try:
            if not self._handshake():
                return
            while True:
                msg = self._read_message()
                tag = msg.tag[0]
                self.server.note(self.number, NAMES.get(tag, f"0x{tag:02X}"))
                if tag == GOODBYE:
                    return
                if tag == RESET:
                    self.tx, self.result = None, []
                    self.state = "READY" if self.state != "CONNECTED" else self.state
                    self._send(SUCCESS, {})
                    continue
                if self.state == "FAILED":
                    self._send(IGNORED)
                    continue
                handler = self.HANDLERS.get(tag)
                if handler is None:
                    self._failure("Neo.ClientError.Request.Invalid", f"unknown message {tag}")
                    return
                if handler(self, *msg.fields) is False:
                    return
        except (_Closed, OSError, ValueError):
            return

    def _authenticate(self, auth: dict) -> bool:
        users = self.server.users
        ok = (
            auth.get("scheme") == "basic"
            and auth.get("principal") in users
            and users[auth["principal"]] == auth.get("credentials")
        )
        if not ok:
            self._failure(
                "Neo.ClientError.Security.Unauthorized",
                "The client is unauthorized due to authentication failure.",
            )
        return ok

    def _hello(self, extra: dict):
        if self.state != "CONNECTED":
            self._failure("Neo.ClientError.Request.Invalid", "HELLO twice")
            return False
        self.server.agents.append(extra.get("user_agent", ""))
        if self.version == (5, 0) and not self._authenticate(extra):
            return False
        hints = {"connection.recv_timeout_seconds": 120}
        if self.version >= (5, 4):
            hints["telemetry.enabled"] = True
        self._send(
            SUCCESS,
            {"server": self.server.agent, "connection_id": f"bolt-{self.number}", "hints": hints},
        )
        self.state = "READY" if self.version == (5, 0) else "AUTHENTICATION"

    def _logon(self, auth: dict):
        if self.state != "AUTHENTICATION":
            self._failure("Neo.ClientError.Request.Invalid", "LOGON outside AUTHENTICATION")
            return False
        if not self._authenticate(auth):
            return False
        self._send(SUCCESS, {})
        self.state = "READY"

    def _logoff(self):
        self.state = "AUTHENTICATION"
        self._send(SUCCESS, {})

    def _telemetry(self, api: int):
        self._send(SUCCESS, {})

    def _database(self, name: str | None) -> str | None:
        db = name or "neo4j"
        if db not in self.server.graphs:
            self._failure(
                "Neo.ClientError.Database.DatabaseNotFound",
                f"Database does not exist. Database name: '{db}'.",
            )
            return None
        return db

    def _route(self, context: dict, bookmarks: list, db_context: dict):
        if not self.server.routing:
            self._failure(
                "Neo.ClientError.Procedure.ProcedureNotFound",
                "There is no procedure with the name `dbms.routing.getRoutingTable` registered "
                "for this database instance.",
            )
            return
        db = self._database(db_context.get("db"))
        if db is None:
            return
        address = f"{self.server.host}:{self.server.port}"
        servers = [{"addresses": [address], "role": r} for r in ("WRITE", "READ", "ROUTE")]
        self._send(SUCCESS, {"rt": {"ttl": 300, "db": db, "servers": servers}})

    def _begin(self, extra: dict):
        if self.state != "READY":
            self._failure("Neo.ClientError.Request.Invalid", f"BEGIN in {self.state}")
            return
        db = self._database(extra.get("db"))
        if db is None:
            return
        self.tx = {"db": db, "mode": extra.get("mode", "w"), "pending": []}
        self.state = "TX_READY"
        self._send(SUCCESS, {})

    def _run(self, query: str, params: dict, extra: dict | None = None):
        if self.state not in ("READY", "TX_READY"):
            self._failure("Neo.ClientError.Request.Invalid", f"RUN in {self.state}")
            return
        if self.tx is None:
            db = self._database((extra or {}).get("db"))
            if db is None:
                return
            mode = (extra or {}).get("mode", "w")
        else:
            db, mode = self.tx["db"], self.tx["mode"]
        params = _param(params)
        self.server.runs.append(Run(self.number, db, mode, query, params))
        fault = self.server.take_fault(query)
        if fault is not None:
            if fault.code == "disconnect":
                self.sock.close()
                raise _Closed()
            self._failure(fault.code, fault.message)
            return
        try:
            outcome: Outcome = evaluate(self.server.graphs[db], query, params)
        except CypherError as e:
            self._failure(e.code, e.message)
            return
        if outcome.apply is not None:
            if mode == "r":
                self._failure(
                    "Neo.ClientError.Statement.AccessMode",
                    f"Writing in read access mode not allowed. Attempted write to database '{db}'.",
                )
                return
            if self.tx is None:
                outcome.apply()
            else:
                self.tx["pending"].append(outcome.apply)
        self.result = list(outcome.rows)
        self.result_meta = {"db": db, "type": "w" if outcome.writes else "r"}
        meta: dict = {"fields": outcome.fields, "t_first": 0}
        if self.tx is not None:
            meta["qid"] = 0
            self.state = "TX_STREAMING"
        else:
            self.state = "STREAMING"
        self._send(SUCCESS, meta)

    def _stream(self, extra: dict, send: bool):
        if self.state not in ("STREAMING", "TX_STREAMING"):
            self._failure("Neo.ClientError.Request.Invalid", f"PULL in {self.state}")
            return
        n = extra.get("n", -1)
        take = len(self.result) if n == -1 else min(n, len(self.result))
        if send:
            for row in self.result[:take]:
                self._send(RECORD, row)
        self.result = self.result[take:] if send else []
        if self.result:
            self._send(SUCCESS, {"has_more": True})
            return
        done = {**self.result_meta, "t_last": 0}
        if self.state == "STREAMING":
            self.server.bookmarks += 1
            done["bookmark"] = f"FB:standin:{self.server.bookmarks}"
            self.state = "READY"
        else:
            self.state = "TX_READY"
        self._send(SUCCESS, done)

    def _pull(self, extra: dict):
        self._stream(extra, send=True)

    def _discard(self, extra: dict):
        self._stream(extra, send=False)

    def _commit(self):
        if self.state != "TX_READY" or self.tx is None:
            self._failure("Neo.ClientError.Request.Invalid", f"COMMIT in {self.state}")
            return
        for apply in self.tx["pending"]:
            apply()
        self.tx = None
        self.state = "READY"
        self.server.bookmarks += 1
        self._send(SUCCESS, {"bookmark": f"FB:standin:{self.server.bookmarks}"})

    def _rollback(self):
        self.tx, self.state = None, "READY"
        self._send(SUCCESS, {})

    HANDLERS = {
        HELLO: _hello, LOGON: _logon, LOGOFF: _logoff, TELEMETRY: _telemetry, ROUTE: _route,
        BEGIN: _begin, RUN: _run, PULL: _pull, DISCARD: _discard, COMMIT: _commit,
        ROLLBACK: _rollback,
    }  # fmt: skip


@dataclass
class BoltStandin:
    """The server: its users, databases, routing behaviour, versions and injected faults."""

    users: dict[str, str] = field(default_factory=lambda: {"neo4j": "secret-password"})
    databases: tuple[str, ...] = ("neo4j",)
    routing: bool = True
    max_version: tuple[int, int] = (5, 8)
    manifest: bool = True
    agent: str = AGENT
    host: str = "127.0.0.1"
    port: int = 0
    graphs: dict[str, Graph] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    messages: list[tuple[int, str]] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    bookmarks: int = 0
    open_connections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sock: socket.socket | None = None
    _conns: list[socket.socket] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def versions(self) -> list[tuple[int, int]]:
        return [(5, m) for m in range(0, 9) if (5, m) <= self.max_version]

    @property
    def graph(self) -> Graph:
        """The default database's graph."""
        return self.graphs["neo4j"]

    @property
    def uri(self) -> str:
        return f"bolt://{self.host}:{self.port}"

    @property
    def routing_uri(self) -> str:
        return f"neo4j://{self.host}:{self.port}"

    def note(self, connection: int, message: str) -> None:
        with self._lock:
            self.messages.append((connection, message))

    def take_fault(self, query: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and f.match in " ".join(query.split()):
                    f.times -= 1
                    return f
        return None

    def start(self) -> BoltStandin:
        for name in self.databases:
            self.graphs.setdefault(name, Graph())
        self._sock = socket.create_server((self.host, self.port))
        self.port = self._sock.getsockname()[1]
        self._spawn(self._accept)
        return self

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True, name="bolt-standin")
        self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        number = 0
        assert self._sock is not None
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            number += 1
            # As Neo4j's server (Netty) does: small replies go out at once, not after the
            # client's delayed ACK.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.append(conn)
                self.open_connections += 1
            self._spawn(self._serve, conn, number)

    def _serve(self, conn: socket.socket, number: int) -> None:
        try:
            _Connection(self, conn, number).serve()
        finally:
            conn.close()
            with self._lock:
                self.open_connections -= 1

    def stop(self) -> None:
        """Close the listening socket and every connection, and wait for their threads."""
        with self._lock:
            socks = [s for s in (self._sock, *self._conns) if s is not None]
        for s in socks:
            # shutdown, not just close: it wakes a thread blocked in accept() or recv().
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=5)
        for s in socks:
            s.close()

    def __enter__(self) -> BoltStandin:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
