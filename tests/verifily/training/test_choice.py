"""Trainer choice (configured per model or guessed from the data) and the retrieval baseline."""

from pathlib import Path

import joblib
import pytest

from verifily.config.pipeline import load_thresholds
from verifily.errors import InputError
from verifily.training.builtin import train_regressor, train_retrieval, train_text_classifier
from verifily.training.choice import guess_output_kind, load_training_config
from verifily.training.entrypoint import load_trainer
from verifily.training.run import choose_trainer


@pytest.mark.parametrize(
    "outputs, kind",
    [
        ([True, False] * 10, "classes"),
        ([0, 1, 2] * 10, "classes"),
        ([1.5, 2.25, 3.0] * 10, "numeric"),
        (list(range(100)), "numeric"),
        (["yes", "no"] * 10, "classes"),
        ([f"answer number {i}" for i in range(50)], "text"),
    ],
)
def test_guess_output_kind(outputs, kind):
    assert guess_output_kind(outputs)[0] == kind


def _cfg(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "pipeline.yaml"
    p.write_text(text)
    return p


def test_per_model_config_overrides_and_thresholds_ignore_section(tmp_path):
    p = _cfg(
        tmp_path,
        "min_metric: 0.7\n"
        "training:\n  trainer: retrieval\n  numeric_rel_tol: 0.05\n"
        "  models:\n    prices: {trainer: regressor, numeric_abs_tol: 0.5}\n",
    )
    assert load_thresholds(p).min_metric == 0.7
    other = load_training_config(p, "faq")
    assert (other.trainer, other.numeric_rel_tol) == ("retrieval", 0.05)
    prices = load_training_config(p, "prices")
    assert (prices.trainer, prices.numeric_abs_tol, prices.numeric_rel_tol) == (
        "regressor",
        0.5,
        0.05,
    )
    assert load_training_config(None).trainer == "auto"


@pytest.mark.parametrize(
    "text, message",
    [
        ("training:\n  trainr: auto\n", "unknown key 'trainr'"),
        ("training:\n  output_kind: images\n", "output_kind must be"),
        ("training:\n  numeric_rel_tol: -1\n", "non-negative number"),
        ("training: [1, 2]\n", "must be a mapping"),
        ("training:\n  models:\n    m: 3\n", "models.m must be a mapping"),
    ],
)
def test_bad_training_config_is_named(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_training_config(_cfg(tmp_path, text), "m")


def test_choose_trainer_reports_how():
    from verifily.training.choice import TrainingConfig

    name, kind, how = choose_trainer(TrainingConfig(), ["a", "b"] * 10)
    assert (name, kind) == ("text_classifier", "classes") and "guessed" in how
    name, kind, how = choose_trainer(TrainingConfig(trainer="retrieval"), [1, 2] * 10)
    assert (name, kind) == ("retrieval", "text") and "pipeline config" in how
    with pytest.raises(InputError, match="regressor predicts numbers"):
        choose_trainer(TrainingConfig(trainer="regressor", output_kind="classes"), ["a"])


def test_unknown_builtin_trainer_is_named():
    with pytest.raises(InputError, match="unknown trainer 'svm'"):
        load_trainer("svm")
    with pytest.raises(InputError, match="must look like"):
        load_trainer(":train")


def test_retrieval_answers_with_nearest_training_output(tmp_path):
    records = [
        {"input": "what is the capital of france", "output": "Paris"},
        {"input": "what is the capital of italy", "output": "Rome"},
        {"input": "who wrote hamlet", "output": "William Shakespeare"},
    ]
    model = train_retrieval(records, 0, tmp_path)
    got = model.predict(["capital city of Italy?", "hamlet was written by whom", "france"])
    assert got == ["Rome", "William Shakespeare", "Paris"]
    joblib.dump(model, tmp_path / "m.joblib")
    assert joblib.load(tmp_path / "m.joblib").predict(["italy"]) == ["Rome"]


def test_builtins_are_deterministic_per_seed(tmp_path):
    records = [
        {"input": f"x={i % 7}, y={(i * 3) % 11}, note word{i % 5}", "output": "ab"[i % 2]}
        for i in range(200)
    ]
    probe = [r["input"] for r in records[:50]]
    a = train_text_classifier(records, 3, tmp_path).predict(probe)
    b = train_text_classifier(records, 3, tmp_path).predict(probe)
    assert a == b
    numeric = [{**r, "output": 2.0 * (i % 7) + 1} for i, r in enumerate(records)]
    reg = train_regressor(numeric, 3, tmp_path)
    preds = reg.predict(probe)
    # y = 2x + 1 is linear in the numeric column x, which the featurizer extracts.
    assert max(abs(p - t["output"]) for p, t in zip(preds, numeric[:50], strict=True)) < 0.5
    assert preds == train_regressor(numeric, 3, tmp_path).predict(probe)
