"""Record schema and the deterministic split."""

from hypothesis import given
from hypothesis import strategies as st

from verifily.dataset.schema import assign_split, effective_split, record_problems


@given(st.text(), st.text(), st.integers(), st.integers())
def test_exact_duplicates_share_a_split_whatever_their_ids(inp, out, id_a, id_b):
    a = {"id": id_a, "input": inp, "output": out}
    b = {"id": id_b, "input": inp, "output": out}
    assert assign_split(a, 0.5) == assign_split(b, 0.5)


def test_split_fraction_is_respected_roughly():
    recs = [{"input": f"q{i}", "output": str(i)} for i in range(4000)]
    evals = sum(assign_split(r, 0.2) == "eval" for r in recs)
    assert 650 < evals < 950
    assert all(assign_split(r, 0.0) == "train" for r in recs[:100])
    assert all(assign_split(r, 1.0) == "eval" for r in recs[:100])


def test_own_split_wins():
    rec = {"input": "a", "output": "b", "split": "eval"}
    assert effective_split(rec, 0.0) == "eval"


def test_valid_record_has_no_problems():
    assert record_problems({"input": "a", "output": 1.5, "id": 3, "meta": {}, "extra": 1}) == []
    assert record_problems({"input": "a", "output": True, "id": True}) == [
        "'id' must be a string or integer, got boolean"
    ]
