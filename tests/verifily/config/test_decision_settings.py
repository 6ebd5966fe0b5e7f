"""The decision statistics' settings in a pipeline config: confidence, resamples, slices."""

import pytest

from verifily.config.pipeline import load_thresholds
from verifily.config.slices import SliceSpec, load_slices
from verifily.errors import InputError


def _cfg(tmp_path, text):
    p = tmp_path / "pipeline.yaml"
    p.write_text(text)
    return p


def test_defaults_and_a_full_config(tmp_path):
    t = load_thresholds(None)
    assert (t.confidence, t.resamples, t.slice_tolerance, t.slice_regression) == (
        0.95, 2000, 0.01, "investigate",
    )  # fmt: skip
    assert load_slices(None) == []
    p = _cfg(
        tmp_path,
        "confidence: 0.9\nresamples: 500\nslice_regression: dont_ship\n"
        "slices: [{field: meta.language}, {field: meta.source, min_count: 50}, meta.x]\n",
    )
    t = load_thresholds(p)
    assert (t.confidence, t.resamples, t.slice_regression) == (0.9, 500, "dont_ship")
    assert load_slices(p) == [
        SliceSpec("meta.language"), SliceSpec("meta.source", 50), SliceSpec("meta.x"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text, words",
    [
        ("confidence: 1.0\n", "confidence must be within [0.5, 1)"),
        ("resamples: 10\n", "resamples must be within [100, 100000]"),
        ("resamples: 2000.5\n", "resamples must be an integer"),
        ("slice_regression: block\n", "slice_regression must be investigate or dont_ship"),
        ("slice_tolerance: -0.1\n", "tolerances must not be negative"),
    ],
)
def test_bad_thresholds_name_the_field(tmp_path, text, words):
    with pytest.raises(InputError, match=r"pipeline\.yaml: ") as e:
        load_thresholds(_cfg(tmp_path, text))
    assert words in str(e.value)


@pytest.mark.parametrize(
    "text, words",
    [
        ("slices: meta.x\n", "slices must be a list"),
        ("slices: [{field: meta.x, min: 3}]\n", "slices[0]: unknown key 'min'"),
        ("slices: [{field: 'meta..x'}]\n", "slices[0]: field must be a dot path"),
        ("slices: [{field: meta.x, min_count: 0}]\n", "min_count must be a positive integer"),
        ("slices: [meta.x, {field: meta.x}]\n", "slices[1]: field 'meta.x' is named twice"),
    ],
)
def test_bad_slices_name_the_entry(tmp_path, text, words):
    with pytest.raises(InputError) as e:
        load_slices(_cfg(tmp_path, text))
    assert words in str(e.value) and "pipeline.yaml" in str(e.value)
