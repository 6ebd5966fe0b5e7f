"""Run directories: atomic allocation under concurrency, publish whole or not at all."""

import json
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from verifily.dataset.verify import verify_artifact
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest
from verifily.rundir.contract import validate_run_contract
from verifily.rundir.layout import allocate_run_dir, list_run_dirs, publish_run_dir
from verifily.rundir.sweep import sweep_abandoned


def _retrain(args):
    out, seed = args
    return core_retrain(IRIS, Path(out), seed=seed)["run_dir"]


def test_numbers_are_sequential_and_never_reused(tmp_path):
    s1, f1 = allocate_run_dir(tmp_path)
    s2, f2 = allocate_run_dir(tmp_path)
    assert (f1.name, f2.name) == ("retrain_0001", "retrain_0002")
    (s1 / "x").write_text("1")
    publish_run_dir(s1, f1)
    _, f3 = allocate_run_dir(tmp_path)
    assert f3.name == "retrain_0003"  # the unfinished 0002 still holds its number


def test_publish_never_overwrites(tmp_path):
    staging, final = allocate_run_dir(tmp_path)
    final.mkdir()
    (final / "precious").write_text("keep")
    with pytest.raises(FileExistsError):
        publish_run_dir(staging, final)
    assert (final / "precious").read_text() == "keep"


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_eight_concurrent_retrains_get_eight_valid_directories(tmp_path, pool):
    with pool(max_workers=8) as ex:
        dirs = list(ex.map(_retrain, [(str(tmp_path), s) for s in range(8)]))
    assert len(set(dirs)) == 8
    assert sorted(Path(d).name for d in dirs) == [f"retrain_{i:04d}" for i in range(1, 9)]
    assert [p.name for p in list_run_dirs(tmp_path)] == sorted(Path(d).name for d in dirs)
    for d in dirs:
        assert validate_run_contract(d) == []
    seeds = sorted(json.loads((Path(d) / "run_meta.json").read_text())["seed"] for d in dirs)
    assert seeds == list(range(8))


def test_failed_retrain_leaves_nothing_that_looks_complete(tmp_path):
    req = RetrainRequest(dataset_dir=str(IRIS), output_dir=str(tmp_path))
    state = steps.train(steps.start(req, verify_artifact(IRIS)))
    steps.abandon(state)
    assert list_run_dirs(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == [".verifily.lock"]


def test_crash_before_publish_leaves_only_a_hidden_staging_dir(tmp_path):
    req = RetrainRequest(dataset_dir=str(IRIS), output_dir=str(tmp_path))
    steps.decide(steps.evaluate(steps.train(steps.start(req, verify_artifact(IRIS)))))
    # No publish: as if the process died here.
    assert list_run_dirs(tmp_path) == []
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(".retrain_")]
    assert len(staged) == 1 and validate_run_contract(staged[0])


def _killed_attempt(out: Path, run_id: str | None) -> Path:
    """A retrain that died after staging: its hidden directory is all that is left."""
    req = RetrainRequest(dataset_dir=str(IRIS), output_dir=str(out))
    return Path(steps.start(req, verify_artifact(IRIS), run_id=run_id)["staging_dir"])


def test_sweep_removes_only_staging_dirs_whose_run_ended(tmp_path):
    published = core_retrain(IRIS, tmp_path)["run_dir"]
    ended = _killed_attempt(tmp_path, "run-that-ended")
    live = _killed_attempt(tmp_path, "run-still-going")
    anonymous = _killed_attempt(tmp_path, None)
    asked = []

    def run_ended(run_id: str) -> bool:
        asked.append(run_id)
        return run_id == "run-that-ended"

    last = _killed_attempt(tmp_path, "run-that-ended")  # the highest number so far
    assert sweep_abandoned(tmp_path, run_ended) == [ended, last]
    assert not ended.exists() and not last.exists()
    assert live.is_dir() and anonymous.is_dir()
    assert sorted(asked) == ["run-still-going", "run-that-ended", "run-that-ended"]
    assert validate_run_contract(published) == []
    # A swept number is never handed out again (MLflow and logs may already name it).
    assert last.name == ".retrain_0005.partial"
    assert allocate_run_dir(tmp_path)[1].name == "retrain_0006"
