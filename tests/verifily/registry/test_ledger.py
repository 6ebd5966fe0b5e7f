"""The signed ledger: every entry verifies and chains; a ledger rewritten and re-chained
without the key fails `verifily promotions`, which names the first bad entry."""

import base64
import json

import pytest

from tests.support.forgery import verifily
from tests.support.keys import write_private_key, write_public_key
from verifily.hashing import canonical_json, sha256_bytes
from verifily.registry.ledger import (
    LedgerError,
    append_promotion,
    ledger_path,
    read_ledger,
    verify_ledger,
)
from verifily.rundir.audit import GENESIS
from verifily.signing.dsse import sign_envelope
from verifily.signing.keys import key_ring
from verifily.signing.keystore import signer

DIGEST = "ab" * 32


def _append(path, signer, model, to_version, **extra):
    return append_promotion(
        path,
        "alias_moved",
        signer=signer,
        subject=(f"/runs/{model}/{to_version}", DIGEST),
        model=model,
        alias="champion",
        from_version=extra.pop("from_version", None),
        to_version=to_version,
        actor="test",
        **extra,
    )


@pytest.fixture
def ledger(tmp_path, session_signing_key):
    path = tmp_path / "promotions.jsonl"
    _append(path, session_signing_key, "a", "1")
    _append(path, session_signing_key, "b", "1")
    _append(path, session_signing_key, "a", "2", from_version="1")
    return path


def test_entries_are_in_toto_statements_signed_and_chained(ledger, session_signing_key):
    keys = key_ring([session_signing_key.public_key])
    check = verify_ledger(ledger, keys)
    assert check.problems == []
    assert [e["seq"] for e in check.of("a")] == [0, 2]
    assert {e["signed_by"] for e in check.entries} == {session_signing_key.keyid}
    first = json.loads(ledger.read_bytes().splitlines()[0])
    statement = json.loads(base64.b64decode(first["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "/runs/a/1", "digest": {"sha256": DIGEST}}]
    assert statement["predicate"]["prev_hash"] == GENESIS


def _rewrite_without_the_key(path, forger=None):
    """Change entry 0's to_version and re-chain every later line: what a writer of the file
    can do. Without the key the signatures are the originals (or the forger's own)."""
    lines = path.read_bytes().splitlines()
    out, prev = [], None
    for line in lines:
        env = json.loads(line)
        statement = json.loads(base64.b64decode(env["payload"]))
        entry = statement["predicate"]
        if entry["seq"] == 0:
            entry["details"]["to_version"] = "9"
        entry["prev_hash"] = GENESIS if prev is None else sha256_bytes(prev)
        body = canonical_json(statement)
        env["payload"] = base64.standard_b64encode(body).decode()
        if forger is not None:
            env = sign_envelope(body, forger)
        new = canonical_json(env)
        out.append(new)
        prev = new
    path.write_bytes(b"\n".join(out) + b"\n")


@pytest.mark.parametrize("resign", [False, True], ids=["kept_signatures", "forgers_key"])
def test_rewritten_and_rechained_ledger_fails_promotions(tmp_path, monkeypatch, resign):
    monkeypatch.setenv("VERIFILY_STATE_DIR", str(tmp_path / "state"))
    path = ledger_path()
    s = signer()
    _append(path, s, "m", "1")
    _append(path, s, "m", "2", from_version="1")
    ok = verifily("promotions", "m")
    assert ok.returncode == 0, ok.stderr
    forger = write_private_key(tmp_path / "forger.pem") if resign else None
    _rewrite_without_the_key(path, forger)
    out = verifily("promotions", "m")
    assert out.returncode == 1
    first_bad = out.stderr.splitlines()[0]
    assert first_bad.startswith("LEDGER DOES NOT VERIFY: first bad entry: entry #0 (line 1): ")
    if resign:
        assert f"signed by key {forger.keyid}, which is not an accepted key" in first_bad
    else:
        assert "signature does not verify: the signed content was changed" in first_bad
    assert "v9" in out.stdout  # the entries are still shown, marked as not verifying


def test_removed_or_unsigned_lines_are_named(ledger, session_signing_key):
    keys = key_ring([session_signing_key.public_key])
    lines = ledger.read_bytes().splitlines()
    ledger.write_bytes(b"\n".join([lines[0], lines[2]]) + b"\n")
    problems = verify_ledger(ledger, keys).problems
    assert problems[0].startswith("entry #2 (line 2): sequence number 2 where 1 expected")
    assert "broken chain" in problems[1]
    ledger.write_bytes(lines[0] + b'\n{"seq": 1, "details": {}}\n')
    assert verify_ledger(ledger, keys).problems == ["line 2: not a signed ledger entry"]
    with pytest.raises(LedgerError, match="not a signed ledger entry"):
        _append(ledger, session_signing_key, "a", "3")


def test_a_truncated_tail_refuses_appends(ledger, session_signing_key):
    with open(ledger, "ab") as f:
        f.write(b'{"payload": "tru')
    assert "truncated" in verify_ledger(ledger, {}).problems[0]
    with pytest.raises(LedgerError, match="truncated"):
        _append(ledger, session_signing_key, "a", "3")


def test_promotions_with_another_public_key_fails(tmp_path, monkeypatch, session_signing_key):
    monkeypatch.setenv("VERIFILY_STATE_DIR", str(tmp_path / "state"))
    _append(ledger_path(), session_signing_key, "m", "1")
    other = write_public_key(tmp_path / "o.pub.pem", write_private_key(tmp_path / "o.pem"))
    out = verifily("promotions", "m", "--pubkey", str(other))
    assert out.returncode == 1 and "not an accepted key" in out.stderr
    assert read_ledger(ledger_path(), "m")[0]["details"]["to_version"] == "1"
