"""Regression: the blocking checks load their asset's partition of this run, not every partition
(before, a second model's retrain failed in dataset_integrity with KeyError: 'dataset')."""

from verifily_assets.launch import run_retrain


def test_retrains_of_two_models_then_the_first_again(instance, tmp_path, iris_copy):
    out = tmp_path / "runs"
    dirs = [
        run_retrain(
            {"dataset_dir": str(iris_copy), "output_dir": str(out), "project_id": p},
            instance=instance,
        )["run_dir"]
        for p in ("model-a", "model-b", "model-a")
    ]
    assert len(set(dirs)) == 3
