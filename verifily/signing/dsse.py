"""DSSE envelopes (secure-systems-lab/dsse v1.0): sign PAE(payloadType, payload) with Ed25519,
and open an envelope only with a key we trust.

Envelope: `{"payload": b64(body), "payloadType": ..., "signatures": [{"keyid", "sig"}]}`; the
signature covers `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, so neither the payload
nor its type can be swapped. The key id is only a hint for choosing the key, never trusted.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from verifily.signing.keys import KeyRing, Signer

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class EnvelopeError(Exception):
    """An envelope that is malformed or not signed by an accepted key; the message says which."""


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding of a payload type and body."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def sign_envelope(body: bytes, signer: Signer, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> dict:
    """A DSSE envelope of `body` with one Ed25519 signature."""
    return {
        "payload": base64.standard_b64encode(body).decode("ascii"),
        "payloadType": payload_type,
        "signatures": [
            {
                "keyid": signer.keyid,
                "sig": base64.standard_b64encode(signer.sign(pae(payload_type, body))).decode(),
            }
        ],
    }


def _b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(f"{what} is not a base64 string")
    # DSSE allows standard and URL-safe base64; verifiers must accept both.
    alphabet = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(alphabet + "=" * (-len(alphabet) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class Opened:
    """A verified envelope: its body and the key id of the key that verified it."""

    body: bytes
    keyid: str


def open_envelope(
    envelope: object, keys: KeyRing, payload_type: str = IN_TOTO_PAYLOAD_TYPE
) -> Opened:
    """The body of an envelope signed by one of `keys`; EnvelopeError saying why not."""
    if not isinstance(envelope, dict):
        raise EnvelopeError("not a DSSE envelope (a JSON object)")
    missing = [k for k in ("payload", "payloadType", "signatures") if k not in envelope]
    if missing:
        raise EnvelopeError(f"not a DSSE envelope: missing {', '.join(missing)}")
    body = _b64(envelope["payload"], "payload")
    if envelope["payloadType"] != payload_type:
        raise EnvelopeError(
            f"payloadType is {envelope['payloadType']!r}, expected {payload_type!r}"
        )
    sigs = envelope["signatures"]
    if not isinstance(sigs, list) or not sigs:
        raise EnvelopeError("envelope has no signatures (unsigned)")
    message = pae(payload_type, body)
    unknown: list[str] = []
    for s in sigs:
        if not isinstance(s, dict):
            continue
        sig = _b64(s.get("sig"), "signature")
        hint = s.get("keyid") or ""
        # The key id narrows the keys to try; an unknown or absent hint tries them all.
        candidates = [hint] if hint in keys else list(keys)
        for kid in candidates:
            try:
                keys[kid].verify(sig, message)
            except InvalidSignature:
                continue
            return Opened(body, kid)
        if hint not in keys:
            unknown.append(str(hint) or "(none)")
    if not keys:
        raise EnvelopeError("no public key to verify with")
    if unknown:
        raise EnvelopeError(
            f"signature does not verify: signed by key {', '.join(unknown)}, which is not "
            f"an accepted key ({len(keys)} accepted)"
        )
    raise EnvelopeError("signature does not verify: the signed content was changed")
