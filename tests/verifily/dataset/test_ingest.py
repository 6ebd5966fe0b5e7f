"""`verifily ingest`: JSONL, CSV and Parquet sources mapped to records, splits assigned."""

import json

import pandas as pd
import pytest

from verifily.dataset.artifact import iter_records
from verifily.dataset.ingest import ingest
from verifily.dataset.verify import verify_artifact
from verifily.errors import InputError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uid": [f"r{i}" for i in range(40)],
            "question": [f"what is {i} squared" for i in range(40)],
            "answer": [i * i for i in range(40)],
            "lang": ["en"] * 40,
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_each_format_gives_the_same_artifact(tmp_path, frame, fmt):
    src = tmp_path / f"src.{fmt}"
    if fmt == "csv":
        frame.to_csv(src, index=False)
    elif fmt == "parquet":
        frame.to_parquet(src)
    else:
        src.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records")))
    info = ingest(
        src,
        tmp_path / "out",
        input_cols=["question"],
        output_col="answer",
        id_col="uid",
        eval_fraction=0.25,
    )
    assert verify_artifact(tmp_path / "out").dataset_hash == info.dataset_hash
    recs = list(iter_records(tmp_path / "out"))
    assert recs[3] == {
        "id": "r3",
        "input": "what is 3 squared",
        "output": 9,
        "split": recs[3]["split"],
        "meta": {"lang": "en"},
    }
    assert 0 < info.split_counts["eval"] < 40
    # The split is a function of the record: the same source always splits the same way.
    ingest(
        src,
        tmp_path / "again",
        input_cols=["question"],
        output_col="answer",
        id_col="uid",
        eval_fraction=0.25,
    )
    assert verify_artifact(tmp_path / "again").dataset_hash == info.dataset_hash


def test_several_input_columns_are_joined(tmp_path, frame):
    frame.to_csv(tmp_path / "s.csv", index=False)
    ingest(
        tmp_path / "s.csv", tmp_path / "out", input_cols=["question", "lang"], output_col="answer"
    )
    first = next(iter_records(tmp_path / "out"))
    assert first["input"] == "question=what is 0 squared, lang=en"


def test_eval_fraction_extremes(tmp_path, frame):
    frame.to_csv(tmp_path / "s.csv", index=False)
    all_train = ingest(
        tmp_path / "s.csv",
        tmp_path / "a",
        input_cols=["question"],
        output_col="answer",
        eval_fraction=0.0,
    )
    all_eval = ingest(
        tmp_path / "s.csv",
        tmp_path / "b",
        input_cols=["question"],
        output_col="answer",
        eval_fraction=1.0,
    )
    assert all_train.split_counts == {"train": 40, "eval": 0}
    assert all_eval.split_counts == {"train": 0, "eval": 40}


@pytest.mark.parametrize(
    "kwargs, content, message",
    [
        ({"input_cols": ["nope"]}, "question,answer\nq,a\n", "no column 'nope'"),
        ({"input_cols": ["question"]}, "question,answer\nq,\n", ":2: empty 'answer'"),
        (
            {"input_cols": ["question"], "id_col": "question"},
            "question,answer\nq,a\nq,b\n",
            "duplicate id 'q'",
        ),
    ],
)
def test_bad_sources_name_the_problem(tmp_path, kwargs, content, message):
    (tmp_path / "s.csv").write_text(content)
    with pytest.raises(InputError, match=message):
        ingest(tmp_path / "s.csv", tmp_path / "out", output_col="answer", **kwargs)
    assert not (tmp_path / "out").exists()


def test_unknown_extension_and_missing_source(tmp_path):
    (tmp_path / "s.xlsx").write_text("x")
    with pytest.raises(InputError, match="--format"):
        ingest(tmp_path / "s.xlsx", tmp_path / "out")
    with pytest.raises(InputError, match="does not exist"):
        ingest(tmp_path / "missing.csv", tmp_path / "out")
