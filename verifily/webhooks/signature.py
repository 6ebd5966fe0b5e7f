"""The webhook signature: HMAC-SHA256 with the receiver's secret over `<timestamp>.<body>`.

Headers of every delivery: `X-Verifily-Event`, `X-Verifily-Delivery` (unique per delivery and
the same on every retry of it: receivers drop repeats by it), `X-Verifily-Timestamp` (Unix
seconds when this attempt was signed) and `X-Verifily-Signature` (`sha256=<hex>`). A receiver
recomputes the HMAC and refuses old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

EVENT_HEADER = "X-Verifily-Event"
DELIVERY_HEADER = "X-Verifily-Delivery"
TIMESTAMP_HEADER = "X-Verifily-Timestamp"
SIGNATURE_HEADER = "X-Verifily-Signature"
# Receivers should refuse a timestamp further than this from their clock.
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for one delivery attempt."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)
