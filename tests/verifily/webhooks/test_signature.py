"""The signature a receiver checks: HMAC-SHA256 over `<timestamp>.<body>` with its secret."""

import hashlib
import hmac
import time

from verifily.webhooks.signature import sign, verify


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    ts, body = "1700000000", b'{"event":"decision"}'
    want = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k", ts, body) == "sha256=" + want


def test_verify_refuses_a_wrong_secret_a_changed_body_and_an_old_timestamp():
    ts, body = str(int(time.time())), b"{}"
    sig = sign("right", ts, body)
    assert verify("right", ts, body, sig)
    assert not verify("wrong", ts, body, sig)
    assert not verify("right", ts, b"{ }", sig)
    old = str(int(time.time()) - 3600)
    assert not verify("right", old, body, sign("right", old, body))
    assert not verify("right", "not-a-time", body, sig)
