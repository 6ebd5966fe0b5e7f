"""Where keys come from: VERIFILY_SIGNING_KEY, else a local pair created once (0600), rotation
keeping the old public key accepted; a bad key is an error naming the file, never a fallback."""

import os
import stat
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.support.keys import write_ec_key, write_private_key, write_public_key
from verifily.signing.keys import SigningKeyError, load_public_key
from verifily.signing.keystore import rotate_local_keys, signer, trusted_keys


@pytest.fixture
def local_state(tmp_path, monkeypatch):
    monkeypatch.delenv("VERIFILY_SIGNING_KEY", raising=False)
    monkeypatch.setenv("VERIFILY_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _keyid(_: int) -> str:
    return signer().keyid


def test_first_use_creates_one_local_pair_even_when_processes_race(local_state):
    assert trusted_keys() == {}
    with ProcessPoolExecutor(4) as pool:
        ids = set(pool.map(_keyid, range(8)))
    assert len(ids) == 1
    key = local_state / "keys" / "signing.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key.parent).st_mode) == 0o700
    pub = load_public_key(local_state / "keys" / "signing.pub.pem")
    assert set(trusted_keys()) == ids and list(trusted_keys().values())[0] == pub


def test_no_key_and_no_creation_is_an_error(local_state):
    with pytest.raises(SigningKeyError, match="no signing key"):
        signer(create=False)
    assert not (local_state / "keys" / "signing.pem").exists()


def test_rotation_keeps_the_old_key_accepted(local_state):
    old = signer()
    new, retired = rotate_local_keys()
    assert retired == old.keyid and new.keyid != old.keyid
    assert signer().keyid == new.keyid
    assert set(trusted_keys()) == {old.keyid, new.keyid}
    (local_state / "keys" / "trusted" / f"{old.keyid}.pub.pem").unlink()
    assert set(trusted_keys()) == {new.keyid}


def test_the_named_key_wins_and_pubkey_files_restrict(local_state, tmp_path, monkeypatch):
    local = signer()
    named = write_private_key(tmp_path / "prod.pem")
    monkeypatch.setenv("VERIFILY_SIGNING_KEY", str(tmp_path / "prod.pem"))
    assert signer().keyid == named.keyid
    # The local key is no longer the signer, so it is no longer accepted by default.
    assert set(trusted_keys()) == {named.keyid}
    pub = write_public_key(tmp_path / "local.pub.pem", local)
    assert set(trusted_keys([str(pub)])) == {local.keyid}
    # A private key file given as a public key stands for its public half.
    assert set(trusted_keys([str(tmp_path / "prod.pem")])) == {named.keyid}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "signing key file does not exist"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_text("not a key\n"), p)[1], "not a PEM private key"),
        (lambda p: write_ec_key(p), "is not an Ed25519 private key"),
    ],
    ids=["missing", "directory", "garbage", "ecdsa"],
)
def test_a_bad_named_key_is_named_and_never_replaced(
    local_state, tmp_path, monkeypatch, make, message
):
    path = make(tmp_path / "key.pem")
    monkeypatch.setenv("VERIFILY_SIGNING_KEY", str(path))
    with pytest.raises(SigningKeyError, match=message) as e:
        signer()
    assert str(e.value).startswith(f"VERIFILY_SIGNING_KEY={path}: ")
    assert not (local_state / "keys").exists()
