"""ASGI middleware: request body size limit and API key authentication.

Both sit below FastAPI so they cover every route, the GraphQL endpoint included, and run
before any request body is parsed.
"""

from __future__ import annotations

import hmac
import json

from verifily.strictjson import MAX_DEPTH, too_deep

OPEN_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect"})


async def _send_error(send, status: int, message: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def key_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison, so response timing does not reveal a key prefix."""
    return presented is not None and hmac.compare_digest(
        presented.encode("utf-8", "surrogateescape"), expected.encode()
    )


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    """The key from `X-API-Key` or `Authorization: Bearer <key>`."""
    if b"x-api-key" in headers:
        return headers[b"x-api-key"].decode("latin-1")
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


class GuardMiddleware:
    """Refuse unauthenticated requests (401) and bodies over `max_body_bytes` (413)."""

    def __init__(self, app, *, api_key: str | None, max_body_bytes: int):
        self.app = app
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self.api_key and scope["path"] not in OPEN_PATHS:
            if not key_matches(presented_key(headers), self.api_key):
                return await _send_error(
                    send,
                    401,
                    "missing or wrong API key: send it as `X-API-Key` or `Authorization: Bearer`",
                    [(b"www-authenticate", b"Bearer")],
                )
        too_big = f"request body larger than {self.max_body_bytes} bytes"
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_body_bytes:
                    return await _send_error(send, 413, too_big)
            except ValueError:
                return await _send_error(send, 400, "invalid Content-Length")
        # Read the whole body here (bounded) and replay it, so a chunked body that lies about
        # its size is cut off at the limit rather than buffered by the app.
        chunks, size = [], 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return await _send_error(send, 413, too_big)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if too_deep(body):
            # Parsing it would raise RecursionError deep inside the framework; say what it is.
            return await _send_error(
                send, 400, f"request body: JSON nested deeper than {MAX_DEPTH} levels"
            )
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
