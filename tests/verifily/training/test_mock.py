"""Mock metrics and mock retrains are deterministic."""

import hashlib
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from verifily.dataset.evalsplit import eval_records
from verifily.training.mock import mock_metrics, mock_record_columns


@given(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), st.integers(0, 2**31))
def test_metrics_in_range_and_pure(dataset_hash, seed):
    m = mock_metrics(dataset_hash, seed)
    assert 0 <= m["exact_match"] <= m["f1"] <= 1
    assert m == mock_metrics(dataset_hash, seed)


def test_documented_formula():
    # Recomputed from the README's formula, so code and documentation cannot drift apart.
    h = hashlib.sha256(("0" * 64 + ":42").encode()).digest()
    u0, u1 = (int.from_bytes(h[i : i + 8], "big") / 2**64 for i in (0, 8))
    f1 = 0.55 + 0.40 * u0
    assert mock_metrics("0" * 64, 42) == {
        "f1": round(f1, 6),
        "exact_match": round(f1 * (0.60 + 0.35 * u1), 6),
    }
    assert mock_metrics("0" * 64, 42) == {"f1": 0.573262, "exact_match": 0.386721}
    assert mock_metrics("0" * 64, 42) != mock_metrics("0" * 64, 43)


def test_same_dataset_and_seed_give_byte_identical_results(tmp_path):
    a = Path(core_retrain(IRIS, tmp_path / "a", seed=7)["run_dir"])
    b = Path(core_retrain(IRIS, tmp_path / "b", seed=7)["run_dir"])
    c = Path(core_retrain(IRIS, tmp_path / "c", seed=8)["run_dir"])
    ea, eb, ec = ((d / "eval" / "eval_results.json").read_bytes() for d in (a, b, c))
    assert ea == eb and ea != ec
    da, db = ((d / "decision" / "decision.json").read_bytes() for d in (a, b))
    assert da == db


def test_per_record_outcomes_agree_with_the_aggregates():
    """Per-record F1 averages to the documented f1 exactly, exact matches to within 1/(2n);
    a better mock model gets right every record a worse one does."""
    records = eval_records(IRIS)
    n = len(records)
    dataset_hash = json.loads((IRIS / "hashes.json").read_text())["dataset_hash"]
    worse, better = mock_metrics(dataset_hash, 4), mock_metrics(dataset_hash, 9)
    cols = {s: mock_record_columns(m, records) for s, m in (("w", worse), ("b", better))}
    for s, m in (("w", worse), ("b", better)):
        assert abs(cols[s]["f1"].mean() - m["f1"]) < 1e-12
        assert abs(cols[s]["em"].mean() - m["exact_match"]) <= 1 / (2 * n)
    assert ((cols["w"]["em"] == 1) <= (cols["b"]["em"] == 1)).all()
    assert (mock_record_columns(worse, records)["f1"] == cols["w"]["f1"]).all()
