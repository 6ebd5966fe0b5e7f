"""Model ids read from the models configuration: every shape the file takes, every bad input."""

import pytest

from verifily.errors import InputError
from verifily.model_ids import configured_model_ids


@pytest.mark.parametrize(
    "text, ids",
    [
        ("models:\n  - model_id: iris\n  - model_id: churn\n", ["iris", "churn"]),
        ("models:\n  - id: a\n  - name: b\n  - a\n", ["a", "b"]),
        ("models:\n  iris: {min_records: 50}\n  churn: {}\n", ["iris", "churn"]),
        ("- x.v2\n- y_1\n", ["x.v2", "y_1"]),
        ("models: []\n", []),
        ("models:\n", []),
    ],
)
def test_ids_in_file_order_without_duplicates(tmp_path, text, ids):
    p = tmp_path / "models.yaml"
    p.write_text(text)
    assert configured_model_ids(p) == ids


def test_missing_file_means_no_models(tmp_path):
    assert configured_model_ids(tmp_path / "absent.yaml") == []


def test_env_var_names_the_file(tmp_path, monkeypatch):
    p = tmp_path / "m.yaml"
    p.write_text("models:\n  - model_id: from_env\n")
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(p))
    assert configured_model_ids() == ["from_env"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("models: [", "unreadable"),
        ("models:\n  - min_records: 5\n", "needs one of model_id"),
        ("models:\n  - model_id: 'a b/c'\n", "must be 1-128 letters"),
        ("models: 3\n", "must be a list or a mapping"),
    ],
)
def test_bad_file_names_file_and_problem(tmp_path, text, problem):
    p = tmp_path / "models.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=problem) as e:
        configured_model_ids(p)
    assert str(p) in str(e.value)
