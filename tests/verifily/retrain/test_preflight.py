"""A retrain that cannot start is refused before any run exists, naming the field or file."""

import shutil

import pytest

from tests.support.examples import IRIS
from verifily.errors import InputError
from verifily.retrain.request import RetrainRequest, preflight


def check_inputs(fields: dict) -> None:
    preflight(RetrainRequest.from_dict(fields))


def test_the_bundled_example_may_start():
    check_inputs({"dataset_dir": str(IRIS), "project_id": "iris"})


@pytest.mark.parametrize(
    "change, expect",
    [
        (lambda d: shutil.rmtree(d), "dataset directory does not exist"),
        (lambda d: (d / "hashes.json").unlink(), "hashes.json: missing"),
        (lambda d: (d / "dataset.jsonl").unlink(), "dataset.jsonl: missing"),
    ],
    ids=["no-directory", "no-hashes", "no-records"],
)
def test_a_missing_dataset_is_named(tmp_path, change, expect):
    d = tmp_path / "ds"
    shutil.copytree(IRIS, d)
    change(d)
    with pytest.raises(InputError, match=expect) as e:
        check_inputs({"dataset_dir": str(d)})
    assert str(d) in str(e.value)


def test_bad_fields_and_thresholds_are_named(tmp_path):
    with pytest.raises(InputError, match="mode must be one of"):
        check_inputs({"dataset_dir": str(IRIS), "mode": "turbo"})
    with pytest.raises(InputError, match="does not exist"):
        check_inputs({"dataset_dir": str(IRIS), "pipeline_config": str(tmp_path / "none.yaml")})
    bad = tmp_path / "p.yaml"
    bad.write_text("min_metrc: 0.5\n")
    with pytest.raises(InputError, match="min_metrc"):
        check_inputs({"dataset_dir": str(IRIS), "pipeline_config": str(bad)})
