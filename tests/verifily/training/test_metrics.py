"""The metrics Verifily computes, checked against definitions and scikit-learn as an oracle."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error

from verifily.training.metrics import (
    class_metrics,
    compute_metrics,
    normalize_answer,
    numeric_metrics,
    text_metrics,
    token_f1,
)


@pytest.mark.parametrize(
    "raw, normal",
    [
        ("The Cat!", "cat"),
        ("  a  quick,  brown fox. ", "quick brown fox"),
        ("An apple an hour", "apple hour"),
        ("theatre", "theatre"),
        (42, "42"),
    ],
)
def test_normalize_answer_squad(raw, normal):
    assert normalize_answer(raw) == normal


@pytest.mark.parametrize(
    "pred, truth, f1",
    [
        ("the cat sat", "a cat sat down", 2 * (2 / 2) * (2 / 3) / (2 / 2 + 2 / 3)),
        ("Paris", "paris.", 1.0),
        ("new york city", "york", 2 * (1 / 3) * 1 / (1 / 3 + 1)),
        ("dog", "cat", 0.0),
        ("", "", 1.0),
        ("the", "cat", 0.0),  # normalises to empty against a non-empty answer
        ("a a b", "a b b", 2 / 3),  # articles drop out: "b" against "b b"
    ],
)
def test_token_f1_known_values(pred, truth, f1):
    assert token_f1(pred, truth) == pytest.approx(f1)


def test_text_metrics_means():
    m = text_metrics(["The cat", "dog", "x y"], ["cat", "a dog!", "y z"])
    assert m["exact_match"] == pytest.approx(2 / 3, abs=1e-6)
    assert m["f1"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-6)


@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), min_size=1, max_size=20))
def test_text_metrics_bounds(pairs):
    preds, truths = zip(*pairs, strict=True)
    m = text_metrics(list(preds), list(truths))
    assert 0.0 <= m["exact_match"] <= m["f1"] + 1e-6 <= 1.0 + 1e-6
    assert all(token_f1(p, t) == pytest.approx(token_f1(t, p)) for p, t in pairs)


@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcde")), min_size=1, max_size=60)
)
def test_class_metrics_match_sklearn(pairs):
    preds, truths = (list(x) for x in zip(*pairs, strict=True))
    m = class_metrics(preds, truths)
    assert m["accuracy"] == pytest.approx(accuracy_score(truths, preds), abs=1e-6)
    labels = sorted(set(preds) | set(truths))
    expected = f1_score(truths, preds, average="macro", labels=labels, zero_division=0)
    assert m["macro_f1"] == pytest.approx(expected, abs=1e-6)
    assert (m["exact_match"], m["f1"]) == (m["accuracy"], m["macro_f1"])


def test_class_labels_compare_by_json_value():
    # 1, "1" and true are three different outputs in a dataset.
    assert class_metrics([1, "1", True], ["1", True, 1])["accuracy"] == 0.0
    assert class_metrics([1, "1", True], [1, "1", True])["accuracy"] == 1.0


@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False)),
        min_size=1,
        max_size=40,
    )
)
def test_numeric_mae_rmse_match_sklearn(pairs):
    preds, truths = (list(x) for x in zip(*pairs, strict=True))
    m = numeric_metrics(preds, truths)
    assert m["mae"] == pytest.approx(mean_absolute_error(truths, preds), rel=1e-5, abs=1e-5)
    rmse = math.sqrt(mean_squared_error(truths, preds))
    assert m["rmse"] == pytest.approx(rmse, rel=1e-5, abs=1e-5)
    assert m["f1"] == m["exact_match"]


def test_numeric_tolerance_boundary():
    # |p - t| <= max(abs_tol, rel_tol * |t|): 1% of 200 is 2.
    assert numeric_metrics([202.0, 202.5], [200, 200])["exact_match"] == 0.5
    assert numeric_metrics([0.0000005], [0.0])["exact_match"] == 1.0
    assert numeric_metrics([3.0], [3], rel_tol=0.0, abs_tol=0.0)["exact_match"] == 1.0
    assert numeric_metrics([2.9], [3], rel_tol=0.1)["exact_match"] == 1.0


@pytest.mark.parametrize("bad", ["n/a", float("nan"), float("inf"), None])
def test_numeric_rejects_non_numbers(bad):
    with pytest.raises(ValueError, match="prediction 0 is not a"):
        numeric_metrics([bad], [1.0])


def test_length_mismatch_and_empty_are_errors():
    with pytest.raises(ValueError, match="2 predictions for 1 records"):
        compute_metrics("classes", ["a", "b"], ["a"])
    with pytest.raises(ValueError, match="evaluation split is empty"):
        compute_metrics("text", [], [])
    with pytest.raises(ValueError, match="unknown output kind"):
        compute_metrics("images", ["a"], ["a"])
