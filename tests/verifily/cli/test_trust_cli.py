"""The trust commands end to end: `verifily keys`, key handling errors (one line, exit 65,
nothing written), and `validate --instance` catching a rewrite even when the key leaked."""

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.examples import IRIS, REPO
from tests.support.forgery import rechain_audit, set_metrics
from tests.support.keys import write_ec_key
from verifily.rundir.attestation import PREDICATE_TYPE, attest_run_dir
from verifily.rundir.contract import seal_run_dir
from verifily.signing.keys import key_id, load_private_key, load_public_key


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verifily", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=REPO,
        timeout=300,
    )


def _encrypted(p: Path) -> Path:
    p.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return p


def _public_only(p: Path) -> Path:
    key = Ed25519PrivateKey.generate().public_key()
    p.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return p


BAD_KEYS = {
    "missing": (lambda p: p, "signing key file does not exist"),
    "unreadable_directory": (lambda p: (p.mkdir(), p)[1], "is a directory, not a PEM file"),
    "unreadable_garbage": (lambda p: (p.write_text("-----BEGIN\n"), p)[1], "not a PEM private"),
    "unreadable_encrypted": (_encrypted, "signing key is encrypted"),
    "wrong_type_ecdsa": (write_ec_key, "ECPrivateKey is not an Ed25519 private key"),
    "wrong_type_public_key": (_public_only, "not a PEM private key"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_bad_key_is_one_line_exit_65_and_nothing_written(tmp_path, case):
    make, message = BAD_KEYS[case]
    key = make(tmp_path / "key.pem")
    home, out = tmp_path / "state" / "dagster", tmp_path / "runs"
    env = {"VERIFILY_SIGNING_KEY": str(key), "DAGSTER_HOME": str(home)}
    for args in (
        ("retrain", "--dataset", str(IRIS), "--out", str(out)),
        ("keys", "public"),
        ("keys", "init"),
    ):
        p = cli(*args, env=env)
        assert p.returncode == 65, (args, p.stderr)
        (line,) = p.stderr.splitlines()
        assert line.startswith(f"error: VERIFILY_SIGNING_KEY={key}: ") and message in line
        assert p.stdout == ""
    # Nothing written: no run directory, no Dagster instance, no ledger, no local key.
    assert not out.exists() and not (tmp_path / "state").exists()


def test_keys_init_public_rotate_and_the_first_retrain(tmp_path):
    state = tmp_path / "state"
    env = {"VERIFILY_SIGNING_KEY": "", "VERIFILY_STATE_DIR": str(state)}
    env["DAGSTER_HOME"] = str(state / "dagster")
    none = cli("keys", "public", env=env)
    assert none.returncode == 65 and "no signing key" in none.stderr
    first = cli("keys", "init", env=env)
    assert first.returncode == 0, first.stderr
    key = state / "keys" / "signing.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    signer = load_private_key(key)
    assert f"key id {signer.keyid}" in first.stdout
    again = cli("keys", "init", env=env)
    assert "kept the existing key pair" in again.stdout
    pub = cli("keys", "public", env=env)
    assert pub.returncode == 0
    (tmp_path / "pub.pem").write_text(pub.stdout)
    assert key_id(load_public_key(tmp_path / "pub.pem")) == signer.keyid

    # A retrain signs with it; rotation keeps the old run valid, and new runs use the new key.
    run = cli("retrain", "--dataset", str(IRIS), "--out", str(tmp_path / "runs"), "--json", env=env)
    assert run.returncode == 0, run.stderr
    run_dir = json.loads(run.stdout)["run_dir"]
    rotated = cli("keys", "rotate", env=env)
    assert rotated.returncode == 0 and f"retired key {signer.keyid}" in rotated.stdout
    ok = cli("validate", run_dir, env=env)
    assert ok.returncode == 0 and f"VALID (signed by {signer.keyid})" in ok.stdout
    # Verifying on another machine needs only the old public key.
    elsewhere = {"VERIFILY_SIGNING_KEY": "", "VERIFILY_STATE_DIR": str(tmp_path / "elsewhere")}
    assert cli("validate", run_dir, env=elsewhere).returncode == 65
    ok = cli("validate", run_dir, "--pubkey", str(tmp_path / "pub.pem"), env=elsewhere)
    assert ok.returncode == 0, ok.stdout
    # Stop trusting the retired key: its runs no longer validate by default.
    (state / "keys" / "trusted" / f"{signer.keyid}.pub.pem").unlink()
    assert cli("validate", run_dir, env=env).returncode == 1


def test_validate_instance_catches_a_rewrite_signed_with_a_leaked_key(
    tmp_path, session_signing_key
):
    home = tmp_path / "dagster"
    env = {"DAGSTER_HOME": str(home)}
    run = cli("retrain", "--dataset", str(IRIS), "--out", str(tmp_path / "runs"), "--json", env=env)
    assert run.returncode == 0, run.stderr
    run_dir = Path(json.loads(run.stdout)["run_dir"])
    ok = cli("validate", str(run_dir), "--instance", env=env)
    assert ok.returncode == 0, ok.stdout

    # Whoever holds the key (it leaked) can rewrite and re-sign the run...
    metrics = set_metrics(run_dir, 0.99)
    rechain_audit(run_dir, metrics)
    contract = seal_run_dir(run_dir)
    envelope = json.loads((run_dir / "attestation.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    attest_run_dir(run_dir, contract["files"], statement["predicate"], session_signing_key)
    assert cli("validate", str(run_dir), env=env).returncode == 0
    # ...but not the Dagster event log, which recorded the digests at decision time.
    bad = cli("validate", str(run_dir), "--instance", env=env)
    assert bad.returncode == 1
    assert "attestation.json: digest" in bad.stdout and "differs from the one Dagster" in bad.stdout
    assert "hashes.json: chain hash differs" in bad.stdout
    assert statement["predicateType"] == PREDICATE_TYPE
