"""A webhook receiver for tests: a real HTTP server on loopback that verifies each delivery's
signature the way the README tells receivers to, and records what arrived."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from verifily.webhooks.signature import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)


@dataclass
class Received:
    event: str
    delivery_id: str
    verified: bool
    body: dict
    path: str


@dataclass
class Receiver:
    """Start with `start(port)`, stop with `stop()`; `received` keeps every request."""

    secret: str
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, port: int = 0) -> int:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = verify(
                    receiver.secret,
                    self.headers.get(TIMESTAMP_HEADER, ""),
                    body,
                    self.headers.get(SIGNATURE_HEADER, ""),
                )
                with receiver.lock:
                    receiver.received.append(
                        Received(
                            self.headers.get(EVENT_HEADER, ""),
                            self.headers.get(DELIVERY_HEADER, ""),
                            ok,
                            json.loads(body),
                            self.path,
                        )
                    )
                self.send_response(200 if ok else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.server.server_address[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]
