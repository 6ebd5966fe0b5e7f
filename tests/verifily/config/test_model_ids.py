"""Model ids read from the models configuration (through the one models-config parser)."""

import pytest

from verifily.config.models import configured_model_ids
from verifily.errors import InputError

FEED = "feed: {kind: jsonl, path: feeds}"


@pytest.mark.parametrize(
    "text, ids",
    [
        (f"models:\n  - id: iris\n    {FEED}\n  - id: churn\n    {FEED}\n", ["iris", "churn"]),
        (f"models:\n  - id: x.v2\n    {FEED}\n", ["x.v2"]),
        ("models: []\n", []),
        ("models:\n", []),
    ],
)
def test_ids_in_file_order(tmp_path, text, ids):
    p = tmp_path / "models.yaml"
    p.write_text(text)
    assert configured_model_ids(p) == ids


def test_missing_file_means_no_models(tmp_path):
    assert configured_model_ids(tmp_path / "absent.yaml") == []


def test_env_var_names_the_file(tmp_path, monkeypatch):
    p = tmp_path / "m.yaml"
    p.write_text(f"models:\n  - id: from_env\n    {FEED}\n")
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(p))
    assert configured_model_ids() == ["from_env"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("models: [", "not valid YAML"),
        ("models:\n  - min_records: 5\n", "is not a valid model id"),
        (f"models:\n  - id: 'a b/c'\n    {FEED}\n", "is not a valid model id"),
        ("models: 3\n", "must be a list"),
        (f"models:\n  - id: a\n    {FEED}\n  - id: a\n    {FEED}\n", "listed twice"),
    ],
)
def test_bad_file_names_file_and_problem(tmp_path, text, problem):
    p = tmp_path / "models.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=problem) as e:
        configured_model_ids(p)
    assert str(p) in str(e.value)
