"""Signing keys for tests: one session key every retrain signs with (as VERIFILY_SIGNING_KEY, so
subprocesses inherit it), and helpers to make other keys (an attacker's, a wrong type)."""

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifily.signing.keys import Signer, public_pem


def write_private_key(path: Path, key: Ed25519PrivateKey | None = None) -> Signer:
    """A PEM Ed25519 private key at path (a new one unless given); its signer."""
    key = key or Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(path, 0o600)
    return Signer.of(key, str(path))


def write_public_key(path: Path, signer: Signer) -> Path:
    path.write_bytes(public_pem(signer.public_key))
    return path


def write_ec_key(path: Path) -> Path:
    """A valid PEM private key of the wrong type (ECDSA P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture(scope="session", autouse=True)
def session_signing_key(tmp_path_factory) -> Signer:
    """The key the session's retrains sign with, named by VERIFILY_SIGNING_KEY."""
    path = tmp_path_factory.mktemp("signing") / "signing.pem"
    signer = write_private_key(path)
    mp = pytest.MonkeyPatch()
    mp.setenv("VERIFILY_SIGNING_KEY", str(path))
    yield signer
    mp.undo()
