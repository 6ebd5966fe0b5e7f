"""A killed retrain's staging dir is removed by a later retrain once its Dagster run is over."""

from pathlib import Path

from tests.support.examples import IRIS
from tests.support.materialize import materialize_retrain
from verifily.dataset.verify import verify_artifact
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest
from verifily.rundir.contract import validate_run_contract


def _killed_attempt(out: Path, run_id: str) -> Path:
    req = RetrainRequest(dataset_dir=str(IRIS), output_dir=str(out))
    return Path(steps.start(req, verify_artifact(IRIS), run_id=run_id)["staging_dir"])


def test_next_retrain_sweeps_staging_of_ended_runs_only(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFILY_MLFLOW_ENABLED", "0")
    out = tmp_path / "runs"
    first = materialize_retrain(instance, IRIS, out)
    assert first.success
    # An attempt inside that (now finished) run which was killed before it could clean up,
    # and one whose run this instance has never heard of (another instance's, maybe live).
    ended = _killed_attempt(out, first.run_id)
    foreign = _killed_attempt(out, "not-a-run-of-this-instance")

    second = materialize_retrain(instance, IRIS, out)
    assert second.success
    assert not ended.exists()
    assert foreign.is_dir()
    published = second.output_for_node("decision")["run_dir"]
    assert Path(published).name == "retrain_0004"  # swept 0002 is not handed out again
    assert validate_run_contract(published) == []
    logs = [e.message for e in instance.all_logs(second.run_id) if e.message]
    assert any(f"removed {ended}" in m for m in logs)
