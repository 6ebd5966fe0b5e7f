"""DSSE envelopes: the spec's PAE, and an envelope opens only with an accepted key over exactly
the bytes and type that were signed."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifily.signing.dsse import EnvelopeError, open_envelope, pae, sign_envelope
from verifily.signing.keys import Signer, key_ring
from verifily.signing.statement import make_statement, open_statement, sign_statement


def signer() -> Signer:
    return Signer.of(Ed25519PrivateKey.generate(), "test")


def test_pae_matches_the_spec_test_vector():
    # secure-systems-lab/dsse protocol.md, "Test Vectors".
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_round_trip_names_the_verifying_key():
    s = signer()
    env = sign_envelope(b'{"a":1}', s)
    assert env["payloadType"] == "application/vnd.in-toto+json"
    assert env["signatures"][0]["keyid"] == s.keyid
    opened = open_envelope(env, key_ring([s.public_key]))
    assert (opened.body, opened.keyid) == (b'{"a":1}', s.keyid)


def _reencode(env: dict, body: bytes) -> dict:
    return {**env, "payload": base64.standard_b64encode(body).decode()}


def test_changed_payload_type_or_key_never_opens():
    s, other = signer(), signer()
    env = sign_envelope(b"body", s)
    keys = key_ring([s.public_key])
    with pytest.raises(EnvelopeError, match="content was changed"):
        open_envelope(_reencode(env, b"bodY"), keys)
    with pytest.raises(EnvelopeError, match="payloadType"):
        open_envelope({**env, "payloadType": "application/json"}, keys)
    with pytest.raises(EnvelopeError, match="not an accepted key"):
        open_envelope(env, key_ring([other.public_key]))
    # A signature by another key that claims our key id still fails.
    forged = sign_envelope(b"body", other)
    forged["signatures"][0]["keyid"] = s.keyid
    with pytest.raises(EnvelopeError, match="content was changed"):
        open_envelope(forged, keys)
    with pytest.raises(EnvelopeError, match="unsigned"):
        open_envelope({**env, "signatures": []}, keys)
    with pytest.raises(EnvelopeError, match="missing payload"):
        open_envelope({"payloadType": "x", "signatures": []}, keys)


def test_url_safe_base64_and_a_missing_key_id_are_accepted():
    s = signer()
    body = bytes(range(256))  # base64 of these bytes uses + and /
    env = sign_envelope(body, s)
    env["payload"] = base64.urlsafe_b64encode(body).decode().rstrip("=")
    del env["signatures"][0]["keyid"]
    assert open_envelope(env, key_ring([signer().public_key, s.public_key])).body == body


def test_statement_digest_is_of_the_signed_bytes():
    s = signer()
    statement = make_statement({"b": "2" * 64, "a": "1" * 64}, "https://example.com/p", {"x": 1})
    assert [x["name"] for x in statement["subject"]] == ["a", "b"]
    signed = sign_statement(statement, s)
    verified = open_statement(signed.envelope, key_ring([s.public_key]), "https://example.com/p")
    assert verified.statement == statement and verified.digest == signed.digest
    assert json.loads(base64.b64decode(signed.envelope["payload"])) == statement
    with pytest.raises(EnvelopeError, match="predicateType"):
        open_statement(signed.envelope, key_ring([s.public_key]), "https://example.com/q")
