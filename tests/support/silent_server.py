"""A TCP server that accepts every connection, reads what arrives and never answers: the
tracking server that hangs. It records when each connection opened and when the client gave up."""

import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Held:
    opened: float
    closed: float | None = None


@dataclass
class SilentServer:
    """Listening on 127.0.0.1:`port` once started; `held` lists every connection."""

    sock: socket.socket = field(default_factory=socket.socket)
    held: list[Held] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def start(self) -> "SilentServer":
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            h = Held(time.monotonic())
            self.held.append(h)
            threading.Thread(target=self._drain, args=(conn, h), daemon=True).start()

    def _drain(self, conn: socket.socket, h: Held) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                try:
                    if not conn.recv(65536):  # the client closed: it gave up waiting
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
        h.closed = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()
