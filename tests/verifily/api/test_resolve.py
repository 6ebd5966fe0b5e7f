"""Which models the IntelGraph routes can retrain: the one models file, and the deprecated
VERIFILY_MODELS_FILE for one more release."""

import logging

import pytest

from verifily.api.resolve import load_model_sources
from verifily.api.settings import ApiSettings
from verifily.errors import InputError


def test_models_with_a_dataset_dir_come_from_the_models_file(tmp_path, monkeypatch):
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n"
        "  - id: iris\n    dataset_dir: data/iris\n    mode: mock\n"
        "  - id: fed\n    feed: {kind: jsonl, path: feeds/fed}\n"
    )
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(models))
    sources = load_model_sources(None)
    assert list(sources) == ["iris"]
    assert sources["iris"] == {"dataset_dir": str(tmp_path / "data" / "iris"), "mode": "mock"}


def test_a_model_needs_a_feed_or_a_dataset_dir(tmp_path, monkeypatch):
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  - id: iris\n    mode: mock\n")
    monkeypatch.setenv("VERIFILY_MODELS_CONFIG", str(models))
    with pytest.raises(InputError, match="'feed'.*'dataset_dir'"):
        load_model_sources(None)


def test_the_deprecated_models_file_still_works_with_one_warning(tmp_path, caplog):
    legacy = tmp_path / "legacy.yaml"
    legacy.write_text("models:\n  iris:\n    dataset_dir: iris\n")
    with caplog.at_level(logging.WARNING):
        settings = ApiSettings.from_env({"VERIFILY_MODELS_FILE": str(legacy)})
    [record] = [r for r in caplog.records if "VERIFILY_MODELS_FILE" in r.getMessage()]
    assert "deprecated" in record.getMessage() and "\n" not in record.getMessage()
    assert load_model_sources(settings.models_file) == {"iris": {"dataset_dir": "iris"}}
