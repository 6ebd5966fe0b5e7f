"""The run contract: any tampering with a run directory is named."""

import json
import shutil
from pathlib import Path

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from verifily.rundir.contract import REQUIRED_FILES, validate_run_contract


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return Path(core_retrain(IRIS, tmp_path_factory.mktemp("runs"))["run_dir"])


@pytest.fixture
def run_dir(pristine, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(pristine, dst)
    return dst


def test_fresh_run_is_valid(run_dir):
    assert validate_run_contract(run_dir) == []
    assert set(json.loads((run_dir / "hashes.json").read_text())["files"]) == set(REQUIRED_FILES)


@pytest.mark.parametrize("rel", REQUIRED_FILES)
def test_flipping_one_byte_in_any_artifact_is_named(run_dir, rel):
    p = run_dir / rel
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    problems = validate_run_contract(run_dir)
    assert any(x.startswith(f"{rel}: hash mismatch") for x in problems), problems


@pytest.mark.parametrize("rel", REQUIRED_FILES)
def test_deleting_any_artifact_is_named(run_dir, rel):
    (run_dir / rel).unlink()
    assert f"{rel}: missing file" in validate_run_contract(run_dir)


def test_added_file_is_named(run_dir):
    (run_dir / "eval" / "extra.json").write_text("{}")
    assert any("eval/extra.json: unexpected file" in p for p in validate_run_contract(run_dir))


def test_reordered_audit_log_is_named(run_dir):
    p = run_dir / "audit_log.jsonl"
    lines = p.read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    p.write_bytes(b"".join(lines))
    problems = validate_run_contract(run_dir)
    assert any("broken audit chain" in x for x in problems)
    assert any("sequence number" in x for x in problems)
    assert any("audit_log.jsonl: hash mismatch" in x for x in problems)


def test_rewritten_contract_is_caught_by_the_chain_hash(run_dir):
    contract = json.loads((run_dir / "hashes.json").read_text())
    contract["files"]["usage.json"] = "0" * 64
    (run_dir / "hashes.json").write_text(json.dumps(contract))
    problems = validate_run_contract(run_dir)
    assert "hashes.json: chain hash mismatch" in problems
    assert any(x.startswith("usage.json: hash mismatch") for x in problems)


def test_incomplete_status_is_named_and_all_problems_reported(run_dir):
    meta = json.loads((run_dir / "run_meta.json").read_text())
    meta["status"] = "running"
    (run_dir / "run_meta.json").write_text(json.dumps(meta))
    (run_dir / "usage.json").unlink()
    problems = validate_run_contract(run_dir)
    assert any("status is 'running'" in p for p in problems)
    assert "usage.json: missing file" in problems
    assert any("run_meta.json: hash mismatch" in p for p in problems)


def test_missing_directory_and_contract(run_dir, tmp_path):
    assert "does not exist" in validate_run_contract(tmp_path / "nope")[0]
    (run_dir / "hashes.json").unlink()
    assert "hashes.json: missing" in validate_run_contract(run_dir)


@pytest.mark.parametrize("bad", [12345, None, ["a"], {"x": 1}, "not-hex", "A" * 64])
def test_a_malformed_hash_value_is_named_not_a_crash(run_dir, bad):
    contract = json.loads((run_dir / "hashes.json").read_text())
    contract["files"]["config.yaml"] = bad
    (run_dir / "hashes.json").write_text(json.dumps(contract))
    problems = validate_run_contract(run_dir)
    assert any("files['config.yaml']" in p and "not a SHA-256 hex digest" in p for p in problems)
    assert "hashes.json: chain hash mismatch" in problems


@pytest.mark.parametrize("contract", ['{"files": 3}', "[1, 2]", '"x"', "{" * 5000])
def test_a_contract_of_the_wrong_shape_is_named(run_dir, contract):
    (run_dir / "hashes.json").write_text(contract)
    problems = validate_run_contract(run_dir)
    assert any(p.startswith("hashes.json: unreadable or not a contract") for p in problems)


def test_a_symlinked_artifact_is_named_and_not_read(run_dir, tmp_path):
    """A run directory whose file is a link to elsewhere never vouches for that file."""
    outside = tmp_path / "outside.json"
    outside.write_bytes((run_dir / "eval" / "eval_results.json").read_bytes())
    (run_dir / "eval" / "eval_results.json").unlink()
    (run_dir / "eval" / "eval_results.json").symlink_to(outside)
    problems = validate_run_contract(run_dir)
    assert any("eval/eval_results.json" in p and "symbolic link" in p for p in problems), problems
    (run_dir / "hashes.json").rename(run_dir / "real_hashes.json")
    (run_dir / "hashes.json").symlink_to(run_dir / "real_hashes.json")
    assert any("hashes.json: unreadable" in p for p in validate_run_contract(run_dir))


def test_an_audit_line_that_is_not_an_object_is_named(run_dir):
    audit = run_dir / "audit_log.jsonl"
    audit.write_bytes(audit.read_bytes() + b"[1]\n" + b"[" * 5000 + b"\n")
    problems = validate_run_contract(run_dir)
    assert any(p.startswith("audit_log.jsonl:") and "not valid JSON" in p for p in problems)
