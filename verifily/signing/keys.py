"""Ed25519 keys: loading them from PEM files with errors that name the file, and their key ids.

A key id is the SHA-256 of the public key's DER SubjectPublicKeyInfo, so anyone holding the
public key can compute it (`openssl pkey -pubin -in key.pub.pem -outform DER | sha256sum`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifily.errors import InputError


class SigningKeyError(InputError):
    """A signing or public key that is missing, unreadable or not Ed25519.

    Exit 65 on the CLI; over HTTP it is the server's configuration, not the request, so 503.
    """

    http_status = 503


def key_id(public_key: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo of the key."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo)."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class Signer:
    """A private key ready to sign, with its public half and key id."""

    private_key: Ed25519PrivateKey
    keyid: str
    source: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    @classmethod
    def of(cls, private_key: Ed25519PrivateKey, source: str) -> Signer:
        return cls(private_key, key_id(private_key.public_key()), source)


# Accepted public keys by key id.
KeyRing = dict[str, Ed25519PublicKey]


def _read(path: Path, what: str, hint: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"{hint}{path}: {what} file does not exist") from None
    except IsADirectoryError:
        raise SigningKeyError(f"{hint}{path}: {what} is a directory, not a PEM file") from None
    except OSError as e:
        raise SigningKeyError(f"{hint}{path}: {what} unreadable: {e.strerror}") from None


def load_private_key(path: str | Path, hint: str = "") -> Signer:
    """The Ed25519 private key in a PEM file; SigningKeyError naming the file otherwise.

    `hint` prefixes the message, e.g. with the variable that named the file.
    """
    p = Path(path)
    data = _read(p, "signing key", hint)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SigningKeyError(
            f"{hint}{p}: signing key is encrypted; give an unencrypted PEM key (mount it as a "
            "secret with mode 0400)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SigningKeyError(f"{hint}{p}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"{hint}{p}: {type(key).__name__.removeprefix('_')} is not an Ed25519 private key"
        )
    return Signer.of(key, str(p))


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file (a private key file gives its public half)."""
    p = Path(path)
    data = _read(p, "public key", "")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        try:
            return load_private_key(p).public_key
        except SigningKeyError:
            raise SigningKeyError(f"{p}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{p}: {type(key).__name__.removeprefix('_')} is not Ed25519")
    return key


def key_ring(keys: list[Ed25519PublicKey]) -> KeyRing:
    """Keys by their key id."""
    return {key_id(k): k for k in keys}
