"""The one model-id rule, and that every place a model id enters applies it."""

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifily.api.schemas import RetrainRequestBody
from verifily.config.models import load_models_config
from verifily.config.monitors import load_monitors
from verifily.errors import InputError
from verifily.model_ids import MAX_MODEL_ID_CHARS, check_model_id, is_model_id

BAD = ["../../escape", "x/y", "a" * (MAX_MODEL_ID_CHARS + 1), ".hidden", "-x", "", "a b",
       "iris\n", "é", "a\\b", "a\x00"]  # fmt: skip
GOOD = ["iris", "x.v2", "churn-model_3", "a" * MAX_MODEL_ID_CHARS, "0", "a..b"]


@pytest.mark.parametrize("value", BAD + [None, 7])
def test_bad_ids_are_refused_naming_where(value):
    with pytest.raises(InputError, match="--project .* is not a valid model id: 1-128"):
        check_model_id(value, "--project")


@pytest.mark.parametrize("value", GOOD)
def test_good_ids_pass_unchanged(value):
    assert check_model_id(value) == value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ09._-/ \n\\é", max_size=140))
def test_the_api_schema_and_the_core_rule_agree(value):
    """The OpenAPI pattern (what the API validates) and the core rule are one rule."""
    try:
        RetrainRequestBody(dataset_dir="d", project_id=value)
        schema_ok = True
    except pydantic.ValidationError:
        schema_ok = False
    assert schema_ok == is_model_id(value)


@pytest.mark.parametrize("bad", ["../../escape", "x/y", "a" * 300])
def test_models_and_monitors_files_apply_the_rule(tmp_path, bad):
    models = tmp_path / "models.yaml"
    models.write_text(f"models:\n  - {{id: '{bad}', dataset_dir: ds}}\n")
    with pytest.raises(InputError, match="is not a valid model id") as e:
        load_models_config(models)
    assert str(models) in str(e.value)
    monitors = tmp_path / "monitors.yaml"
    monitors.write_text(f"monitors:\n  - {{monitor_id: m, project_id: '{bad}'}}\n")
    with pytest.raises(InputError, match="project_id .* is not a valid model id") as e:
        load_monitors(monitors)
    assert str(monitors) in str(e.value)
