"""Properties of the paired bootstrap: identical models, a candidate better on every record,
exchangeable models, determinism, and agreement with the metric definitions."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from verifily.stats.bootstrap import resample_counts, stream
from verifily.stats.mcnemar import mcnemar_exact
from verifily.stats.paired import compare
from verifily.training.metrics import compute_metrics
from verifily.training.outcomes import BINARY_COLUMNS, METRICS, record_columns

OPTS = {"binary": BINARY_COLUMNS, "resamples": 300, "confidence": 0.95}
labels = st.lists(st.sampled_from(["a", "b", "c", 1, True]), min_size=2, max_size=60)


def _classes(truth, pred_c, pred_b):
    codes: dict = {}
    c = record_columns("classes", pred_c, truth, codes)
    return c, record_columns("classes", pred_b, truth, codes)


@settings(max_examples=40, deadline=None)
@given(truth=labels, data=st.data(), seed=st.integers(0, 2**31))
def test_identical_models_have_zero_deltas(truth, data, seed):
    pred = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=len(truth),
                              max_size=len(truth)))  # fmt: skip
    c, b = _classes(truth, pred, pred)
    out = compare(c, METRICS["classes"], baseline=b, rng=stream(seed, "all"), **OPTS)
    for e in out.values():
        assert e["delta"] == 0 and e["interval"] == [0.0, 0.0]
        assert e["interval"][0] <= 0 <= e["interval"][1]
    assert out["accuracy"]["mcnemar"]["p_value"] == 1.0


@settings(max_examples=40, deadline=None)
@given(
    base=st.lists(st.floats(0, 0.9, allow_nan=False), min_size=2, max_size=80),
    gain=st.floats(0.01, 0.1),
    seed=st.integers(0, 2**31),
)
def test_a_candidate_better_on_every_record_has_an_interval_above_zero(base, gain, seed):
    b = np.array(base)
    c = {"f1": b + gain, "em": np.ones_like(b)}
    out = compare(
        c, METRICS["text"], baseline={"f1": b, "em": np.zeros_like(b)}, rng=stream(seed, "x"),
        **OPTS,
    )  # fmt: skip
    assert out["f1"]["interval"][0] > 0 and out["exact_match"]["interval"][0] > 0


@settings(max_examples=40, deadline=None)
@given(
    outcomes=st.lists(st.booleans(), min_size=2, max_size=200),
    data=st.data(),
    seed=st.integers(0, 2**31),
)
def test_permuted_labels_give_an_interval_containing_zero(outcomes, data, seed):
    """The candidate's right/wrong outcomes are the baseline's over permuted records: the
    two are exchangeable, so the delta is 0 and its interval contains 0."""
    perm = data.draw(st.permutations(range(len(outcomes))))
    b = np.array(outcomes, dtype=np.float64)
    c = b[np.array(perm)]
    cols = {"em": c, "f1": c}
    out = compare(cols, METRICS["text"], baseline={"em": b, "f1": b}, rng=stream(seed, "p"), **OPTS)
    for e in out.values():
        assert e["delta"] == 0 and e["interval"][0] <= 0 <= e["interval"][1]


@settings(max_examples=25, deadline=None)
@given(truth=labels, data=st.data(), seed=st.integers(0, 2**31))
def test_fixed_seed_and_resamples_are_deterministic_and_match_the_metrics(truth, data, seed):
    n = len(truth)
    pc = data.draw(st.lists(st.sampled_from(["a", "b", 1, True]), min_size=n, max_size=n))
    pb = data.draw(st.lists(st.sampled_from(["a", "c", 1]), min_size=n, max_size=n))
    c, b = _classes(truth, pc, pb)
    runs = [compare(c, METRICS["classes"], baseline=b, rng=stream(seed, "a"), **OPTS)
            for _ in range(2)]  # fmt: skip
    assert runs[0] == runs[1]
    mc, mb = compute_metrics("classes", pc, truth), compute_metrics("classes", pb, truth)
    for k, e in runs[0].items():
        assert e["candidate"] == mc[k] and e["baseline"] == mb[k]
        assert e["interval"][0] <= e["delta"] + 1e-9 and e["delta"] - 1e-9 <= e["interval"][1]


def test_numeric_and_text_estimators_match_the_metrics():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=300).round(2).tolist()
    pred = (np.array(truth) + rng.normal(scale=0.05, size=300)).tolist()
    cols = record_columns("numeric", pred, truth, abs_tol=0.02, rel_tol=0.01)
    out = compare(cols, METRICS["numeric"], rng=stream(1, "n"), **OPTS)
    want = compute_metrics("numeric", pred, truth, abs_tol=0.02, rel_tol=0.01)
    assert {k: e["candidate"] for k, e in out.items()} == want
    words = ["the cat sat", "a dog", "red fox jumps", ""]
    t = [words[i % 4] for i in range(40)]
    p = [words[(i * 7) % 4] for i in range(40)]
    out = compare(record_columns("text", p, t), METRICS["text"], rng=stream(1, "t"), **OPTS)
    assert {k: e["candidate"] for k, e in out.items()} == compute_metrics("text", p, t)


@given(b=st.integers(0, 60), c=st.integers(0, 60))
def test_mcnemar_matches_the_exact_binomial_test(b, c):
    want = 1.0 if b + c == 0 else binomtest(min(b, c), b + c, 0.5).pvalue
    assert abs(mcnemar_exact(b, c) - want) < 1e-9


def test_both_resampling_paths_draw_the_same_distribution():
    """Few categories take the multinomial path, many the index path; the same counts give
    the same mean and spread either way."""
    counts = np.array([700, 200, 100])
    few = np.concatenate(list(resample_counts(counts, 4000, stream(1, "few"))))
    spread = np.concatenate(list(resample_counts(np.ones(1000, dtype=int), 4000, stream(1, "m"))))
    assert few.shape == (4000, 3) and set(few.sum(axis=1)) == {1000.0}
    assert np.allclose(few.mean(axis=0), counts, rtol=0.02)
    # Each of 1000 categories of one record: Binomial(1000, 1/1000) per category.
    assert abs(spread.mean() - 1) < 0.01 and abs(spread.var() - 0.999) < 0.05
