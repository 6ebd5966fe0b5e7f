"""Where this deployment's keys come from, decided once: the signer is the key file
VERIFILY_SIGNING_KEY names, else the local key pair in the state directory (created on first
use, private key mode 0600); the accepted keys are the signer's public key plus every PEM in
`keys/trusted/` (keys retired by rotation, other signers), or exactly the files a caller names.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifily.config.locations import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    SIGNING_KEY_ENV,
    TRUSTED_KEYS_DIR,
    keys_dir,
    signing_key_file,
)
from verifily.fsutil import fsync_dir
from verifily.signing.keys import (
    KeyRing,
    Signer,
    SigningKeyError,
    key_ring,
    load_private_key,
    load_public_key,
    public_pem,
)


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a private key readable by its owner only, whole or not at all."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _write_public(path: Path, key: Ed25519PrivateKey) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(public_pem(key.public_key()))
    os.replace(tmp, path)


@contextlib.contextmanager
def _keys_locked(d: Path):
    """Serialize key creation: the first retrains of a fresh machine may start together."""
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    with open(d / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def init_local_keys() -> tuple[Signer, bool]:
    """(the local signer, whether it was created now). An existing pair is kept."""
    d = keys_dir()
    with _keys_locked(d):
        if (d / PRIVATE_KEY_FILE).exists():
            return load_private_key(d / PRIVATE_KEY_FILE), False
        key = Ed25519PrivateKey.generate()
        _write_private(d / PRIVATE_KEY_FILE, key)
        _write_public(d / PUBLIC_KEY_FILE, key)
        fsync_dir(d)
    return Signer.of(key, str(d / PRIVATE_KEY_FILE)), True


def rotate_local_keys() -> tuple[Signer, str | None]:
    """A new local key pair; the old public key stays accepted (moved to `keys/trusted/`).

    Returns (the new signer, the retired key id or None when there was no key).
    """
    d = keys_dir()
    retired = None
    with _keys_locked(d):
        if (d / PRIVATE_KEY_FILE).exists():
            old = load_private_key(d / PRIVATE_KEY_FILE)
            retired = old.keyid
            trusted = d / TRUSTED_KEYS_DIR
            trusted.mkdir(exist_ok=True)
            (trusted / f"{old.keyid}.pub.pem").write_bytes(public_pem(old.public_key))
        key = Ed25519PrivateKey.generate()
        _write_private(d / PRIVATE_KEY_FILE, key)
        _write_public(d / PUBLIC_KEY_FILE, key)
        fsync_dir(d)
    return Signer.of(key, str(d / PRIVATE_KEY_FILE)), retired


def signer(create: bool = True) -> Signer:
    """The key this deployment signs with (see the module docstring).

    A VERIFILY_SIGNING_KEY that is missing, unreadable or not Ed25519 is a SigningKeyError
    naming it; it never falls back to another key.
    """
    named = signing_key_file()
    if named is not None:
        return load_private_key(named, hint=f"{SIGNING_KEY_ENV}=")
    local = keys_dir() / PRIVATE_KEY_FILE
    if local.exists():
        return load_private_key(local)
    if not create:
        raise SigningKeyError(
            f"no signing key: set {SIGNING_KEY_ENV} or run `verifily keys init` "
            f"(would create {local})"
        )
    return init_local_keys()[0]


def trusted_keys(pubkey_files: list[str] | tuple[str, ...] | None = None) -> KeyRing:
    """The public keys whose signatures are accepted.

    Given files: exactly those. Otherwise the signer's own public key (without creating a key
    pair) and every PEM file in the state directory's `keys/trusted/`.
    """
    if pubkey_files:
        return key_ring([load_public_key(p) for p in pubkey_files])
    keys = []
    named = signing_key_file()
    local = keys_dir() / PRIVATE_KEY_FILE
    if named is not None:
        keys.append(load_private_key(named, hint=f"{SIGNING_KEY_ENV}=").public_key)
    elif local.exists():
        keys.append(load_private_key(local).public_key)
    trusted = keys_dir() / TRUSTED_KEYS_DIR
    if trusted.is_dir():
        keys += [load_public_key(p) for p in sorted(trusted.glob("*.pem"))]
    return key_ring(keys)
