"""Signed run directories: a forger who edits a run, re-seals hashes.json and re-chains the audit
log still fails `verifily validate` (the signature or the subjects name it), and a forged run is
never used as a baseline."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from tests.support.forgery import (
    rechain_audit,
    reseal,
    set_metrics,
    turn_into_ship,
    verifily,
)
from tests.support.keys import write_private_key, write_public_key
from verifily.decision.rules import DONT_SHIP, INVESTIGATE, SHIP
from verifily.rundir.attestation import PREDICATE_TYPE
from verifily.rundir.validation import verify_run_dir
from verifily.signing.keys import key_ring
from verifily.signing.keystore import trusted_keys
from verifily.signing.statement import make_statement, sign_statement


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    return Path(
        core_retrain(IRIS, out, seed=7, contamination={"contaminated_fraction": 0.0})["run_dir"]
    )


@pytest.fixture
def run_dir(pristine, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(pristine, dst)
    return dst


def test_a_fresh_run_is_valid_and_names_its_signer(run_dir, session_signing_key):
    out = verifily("validate", str(run_dir))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == f"VALID (signed by {session_signing_key.keyid}) {run_dir}"
    env = json.loads((run_dir / "attestation.json").read_text())
    assert env["payloadType"] == "application/vnd.in-toto+json"
    check = verify_run_dir(run_dir, trusted_keys())
    names = [s["name"] for s in check.attestation.statement["subject"]]
    on_disk = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    assert names == [n for n in on_disk if n != "attestation.json"]
    assert check.attestation.statement["predicateType"] == PREDICATE_TYPE


def _modify(d: Path) -> list[str]:
    set_metrics(d, 0.99)
    return ["eval/eval_results.json: content does not match the signed attestation"]


def _decide_ship(d: Path) -> list[str]:
    turn_into_ship(d)
    return ["decision/decision.json: content does not match the signed attestation"]


def _insert(d: Path) -> list[str]:
    (d / "eval" / "extra.json").write_text('{"note": "added later"}\n')
    return ["eval/extra.json: not in the signed attestation (added after signing)"]


def _delete(d: Path) -> list[str]:
    (d / "contamination.json").unlink()
    return ["contamination.json: in the signed attestation, missing from the directory"]


def _truncate(d: Path) -> list[str]:
    (d / "environment.json").write_bytes(b"")
    return ["environment.json: content does not match the signed attestation"]


@pytest.mark.parametrize(
    "forge", [_modify, _decide_ship, _insert, _delete, _truncate], ids=lambda f: f.__name__[1:]
)
def test_forgery_resealed_and_rechained_is_caught(run_dir, forge):
    expected = forge(run_dir)
    results = json.loads((run_dir / "eval" / "eval_results.json").read_text())
    decision = json.loads((run_dir / "decision" / "decision.json").read_text())
    rechain_audit(run_dir, results["metrics"], decision["recommendation"])
    reseal(run_dir)
    # What the forger achieved: the unsigned contract holds again.
    unsigned = verify_run_dir(run_dir, {}, allow_unsigned=True)
    assert [p for p in unsigned.problems if not p.startswith("attestation.json")] == []
    out = verifily("validate", str(run_dir))
    assert out.returncode == 1
    assert out.stdout.startswith(f"INVALID {run_dir}")
    for line in [*expected, "hashes.json: content does not match the signed attestation"]:
        assert line in out.stdout, out.stdout


def test_resigned_with_the_forgers_own_key_is_caught(run_dir, tmp_path):
    _decide_ship(run_dir)
    rechain_audit(run_dir, recommendation="SHIP")
    reseal(run_dir)
    forger = write_private_key(tmp_path / "forger.pem")
    files = {
        p.relative_to(run_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in run_dir.rglob("*")
        if p.is_file() and p.name != "attestation.json"
    }
    signed = sign_statement(make_statement(files, PREDICATE_TYPE, {}), forger)
    (run_dir / "attestation.json").write_text(json.dumps(signed.envelope))
    out = verifily("validate", str(run_dir))
    assert out.returncode == 1
    assert f"signed by key {forger.keyid}, which is not an accepted key" in out.stdout
    # Whoever trusts the forger's key (and only that key) would accept it: --pubkey decides.
    pub = write_public_key(tmp_path / "forger.pub.pem", forger)
    ok = verifily("validate", str(run_dir), "--pubkey", str(pub))
    assert ok.returncode == 0 and f"VALID (signed by {forger.keyid})" in ok.stdout


def test_pubkey_restricts_and_allow_unsigned_accepts_only_runs_without_attestation(
    run_dir, tmp_path
):
    other = write_public_key(tmp_path / "other.pub.pem", write_private_key(tmp_path / "o.pem"))
    out = verifily("validate", str(run_dir), "--pubkey", str(other))
    assert out.returncode == 1 and "not an accepted key" in out.stdout
    # A pre-signing run: no attestation.json at all.
    (run_dir / "attestation.json").unlink()
    out = verifily("validate", str(run_dir))
    assert out.returncode == 1 and "attestation.json: missing (the run is unsigned)" in out.stdout
    out = verifily("validate", str(run_dir), "--allow-unsigned")
    assert out.returncode == 0 and out.stdout.strip() == f"VALID (unsigned) {run_dir}"
    # --allow-unsigned never excuses a bad signature.
    (run_dir / "attestation.json").write_text(
        '{"payload": "", "payloadType": "x", "signatures": []}'
    )
    assert verifily("validate", str(run_dir), "--allow-unsigned").returncode == 1
    missing = verifily("validate", str(run_dir), "--pubkey", str(tmp_path / "nope.pem"))
    assert missing.returncode == 65 and "public key file does not exist" in missing.stderr


def test_audit_log_that_disagrees_with_the_artifacts_is_named(run_dir):
    """Even unsigned: an `evaluated` entry that is not the eval results' metrics."""
    set_metrics(run_dir, 0.99)
    rechain_audit(run_dir)  # the chain is consistent, the story is not
    reseal(run_dir)
    (run_dir / "attestation.json").unlink()
    problems = verify_run_dir(run_dir, {}, allow_unsigned=True).problems
    assert len(problems) == 1 and "'evaluated' metrics" in problems[0], problems


def test_a_forged_baseline_is_never_used(run_dir, tmp_path):
    """The forger lowers the baseline so a worse candidate would SHIP against it."""
    set_metrics(run_dir, 0.01)
    rechain_audit(
        run_dir, json.loads((run_dir / "eval" / "eval_results.json").read_text())["metrics"]
    )
    reseal(run_dir)
    resp = core_retrain(IRIS, tmp_path / "runs", seed=7, base_run_dir=str(run_dir))
    d = json.loads((Path(resp["run_dir"]) / "decision" / "decision.json").read_text())
    assert d["recommendation"] == INVESTIGATE != SHIP
    assert [f["rule"] for f in d["rules_fired"]] == ["baseline_unavailable"]
    assert "does not verify" in d["rules_fired"][0]["message"]
    assert "content does not match the signed attestation" in d["rules_fired"][0]["message"]


def test_a_genuine_baseline_is_used_with_its_digest(pristine, tmp_path):
    base = verify_run_dir(pristine, key_ring(list(trusted_keys().values())))
    resp = core_retrain(IRIS, tmp_path / "runs", seed=11, base_run_dir=str(pristine))
    d = json.loads((Path(resp["run_dir"]) / "decision" / "decision.json").read_text())
    assert d["recommendation"] in (SHIP, DONT_SHIP)
    assert d["baseline"]["attestation_digest"] == base.digest
    assert d["baseline"]["run_dir"] == str(pristine)
