"""Bad input to real mode: a clear error, and no run directory that looks complete."""

from pathlib import Path

import pytest

from tests.support.core_run import run_core
from tests.support.examples import IRIS
from verifily.dataset.artifact import iter_records, write_artifact
from verifily.errors import VerifilyError
from verifily_assets.launch import RunFailedError, run_retrain


@pytest.fixture(autouse=True)
def _real_mode(monkeypatch):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")


def _iris_with(tmp_path: Path, change) -> Path:
    records = [change(dict(r)) for r in iter_records(IRIS)]
    out = tmp_path / "artifact"
    write_artifact(records, out)
    return out


def _pipeline(tmp_path: Path, trainer: str) -> str:
    p = tmp_path / "pipeline.yaml"
    p.write_text(f"training:\n  trainer: '{trainer}'\n")
    return str(p)


def _assert_no_run_dir(out: Path) -> None:
    """Nothing under a retrain name, no leftover staging directory either."""
    left = [p.name for p in out.iterdir() if p.name != ".verifily.lock"] if out.exists() else []
    assert left == []


def _case(name: str, tmp_path: Path) -> tuple[dict, str, int]:
    if name == "one_class":
        ds = _iris_with(tmp_path, lambda r: {**r, "output": "setosa"})
        return {"dataset_dir": str(ds)}, "training records have the same output 'setosa'", 65
    if name == "empty_eval":
        ds = _iris_with(tmp_path, lambda r: {**r, "split": "train"})
        return {"dataset_dir": str(ds)}, "the evaluation split is empty", 65
    cfg = {
        "missing_module": ("no_such_pkg.trainers:train", "module 'no_such_pkg' not found", 65),
        "missing_function": (
            "tests.support.byo_trainers:no_such_function",
            "has no 'no_such_function'",
            65,
        ),
        "not_callable": ("tests.support.byo_trainers:NOT_A_FUNCTION", "is not callable", 65),
        "raises": (
            "tests.support.byo_trainers:train_raises",
            "raised ValueError: the test trainer refuses to train",
            70,
        ),
        "no_model": ("tests.support.byo_trainers:train_returns_nothing", "no predict", 70),
    }[name]
    fields = {"dataset_dir": str(IRIS), "pipeline_config": _pipeline(tmp_path, cfg[0])}
    return fields, cfg[1], cfg[2]


# Through the Dagster job (the assets abandon the staging dir), as the CLI and the API run it.
@pytest.mark.parametrize("name", ["one_class", "empty_eval", "raises"])
def test_bad_input_fails_clearly_through_dagster(name, instance, tmp_path):
    fields, message, exit_code = _case(name, tmp_path)
    out = tmp_path / "runs"
    with pytest.raises(RunFailedError) as e:
        run_retrain({**fields, "output_dir": str(out), "mode": "real"}, instance=instance)
    assert message in str(e.value)
    assert e.value.exit_code == exit_code
    _assert_no_run_dir(out)


# The remaining cases through the same core steps, without a Dagster run each.
@pytest.mark.parametrize(
    "name", ["missing_module", "missing_function", "not_callable", "no_model", "one_class"]
)
def test_bad_input_fails_clearly_in_core(name, tmp_path):
    fields, message, exit_code = _case(name, tmp_path)
    out = tmp_path / "runs"
    dataset = Path(fields.pop("dataset_dir"))
    with pytest.raises(VerifilyError) as e:
        run_core(dataset, out, **fields)
    assert message in str(e.value)
    assert e.value.exit_code == exit_code
    _assert_no_run_dir(out)
