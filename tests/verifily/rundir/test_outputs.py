"""The output-directory rule the CLI, the API and the retrain share: inputs are never written,
a sealed directory (artifact or run) is never written into."""

import shutil
from pathlib import Path

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from verifily.errors import InputError
from verifily.rundir.outputs import check_output_dir


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("outputs")
    shutil.copytree(IRIS, root / "ds")
    core_retrain(root / "ds", root / "runs")  # runs/retrain_0001, sealed
    (root / "runs" / ".retrain_0002.partial").mkdir()
    (root / "link_to_ds").symlink_to(root / "ds")
    return root


def inputs(root: Path, **extra) -> dict:
    return {"dataset_dir": root / "ds", "base_run_dir": None, **extra}


@pytest.mark.parametrize(
    "out, extra, problem",
    [
        ("ds", {}, "is inside dataset_dir"),
        ("ds/runs", {}, "is inside dataset_dir"),
        ("link_to_ds/runs", {}, "is inside dataset_dir"),  # resolved: the same directory
        ("runs/retrain_0001", {"base_run_dir": "runs/retrain_0001"}, "is inside base_run_dir"),
        ("runs", {"contaminated_run_dir": "runs"}, "is inside contaminated_run_dir"),
        ("runs/retrain_0001", {}, "is a finished run directory"),
        ("runs/retrain_0001/eval", {}, "retrain_0001, a finished run directory"),
        ("runs/.retrain_0002.partial/x", {}, "a run directory being written"),
        ("other_ds", {}, "is a dataset artifact"),
    ],
)
def test_refused_with_the_reason(tree, tmp_path, out, extra, problem):
    if out == "other_ds":
        shutil.copytree(IRIS, tmp_path / "other_ds")
        target = tmp_path / "other_ds"
    else:
        target = tree / out
    given = {k: tree / v for k, v in extra.items()}
    with pytest.raises(InputError, match=problem) as e:
        check_output_dir(target, {**inputs(tree), **given})
    assert "output_dir" in str(e.value)


def test_accepted_where_nothing_sealed_or_read_is_touched(tree):
    assert check_output_dir(tree / "runs", inputs(tree)) == tree / "runs"
    assert check_output_dir(tree / "new" / "runs", inputs(tree)) == tree / "new" / "runs"
    # Beside the baseline is fine: a new run is a sibling, never inside it.
    base = {"base_run_dir": tree / "runs" / "retrain_0001"}
    assert check_output_dir(tree / "runs", {**inputs(tree), **base}) == tree / "runs"
