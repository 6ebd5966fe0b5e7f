"""`verifily ingest`: JSONL, CSV and Parquet sources mapped to records, splits assigned."""

import json

import pandas as pd
import pytest

from verifily.dataset.artifact import dataset_hash_of, iter_records
from verifily.dataset.ingest import ingest
from verifily.dataset.verify import verify_artifact
from verifily.errors import InputError
from verifily.hashing import sha256_file


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


@pytest.mark.parametrize(
    "content, problem",
    [
        (b'{"input": "a", "output": 1}\n\n{"input": "b", "output": 2}\n', ":2: blank line"),
        (b'{"input": "a", "output": 1}\n   \n', ":2: blank line"),
        (b'{"input": "a", "output": NaN}\n', ":1: NaN is not a JSON number"),
        (b'{"input": "a", "output": Infinity}\n', ":1: Infinity is not a JSON number"),
        (b'{"input": "a", "output": 1, "output": 2}\n', ":1: duplicate key 'output'"),
        (b'{"input": "a", "output": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n", ":1: nested"),
        (b'{"input": "a", "output": 1, "id": 7}\n{"input": "b", "output": 2, "id": 7}\n',
         ":2: duplicate id 7"),
    ],
)  # fmt: skip
def test_jsonl_source_follows_the_rules_of_verify(tmp_path, content, problem):
    """The rules `verify` applies to an artifact, applied to an ingest source: nothing that
    `verify` would refuse is silently dropped or written out."""
    (tmp_path / "s.jsonl").write_bytes(content)
    with pytest.raises(InputError, match=problem) as e:
        ingest(tmp_path / "s.jsonl", tmp_path / "out")
    assert str(tmp_path / "s.jsonl") in str(e.value)
    assert not (tmp_path / "out").exists()


def test_crlf_lines_are_accepted_by_ingest_and_verify_alike(tmp_path):
    (tmp_path / "s.jsonl").write_bytes(
        b'{"input": "a", "output": 1}\r\n{"input": "b", "output": 2}\r\n'
    )
    info = ingest(tmp_path / "s.jsonl", tmp_path / "out")
    assert info.record_count == 2
    data = (tmp_path / "out" / "dataset.jsonl").read_bytes()
    assert b"\r" not in data  # ingest writes LF
    # The same records with CRLF endings: a different file (and dataset hash), same records.
    crlf = tmp_path / "crlf"
    crlf.mkdir()
    (crlf / "dataset.jsonl").write_bytes(data.replace(b"\n", b"\r\n"))
    sha = sha256_file(crlf / "dataset.jsonl")
    meta = json.loads((tmp_path / "out" / "hashes.json").read_text())
    meta.update(files={"dataset.jsonl": sha}, dataset_hash=dataset_hash_of(sha, 2))
    (crlf / "hashes.json").write_text(json.dumps(meta))
    assert verify_artifact(crlf).record_count == 2
    assert list(iter_records(crlf)) == list(iter_records(tmp_path / "out"))


def test_non_finite_numbers_from_csv_are_refused_with_their_line(tmp_path):
    (tmp_path / "s.csv").write_text("question,answer\nq,1.5\nr,inf\n")
    with pytest.raises(InputError, match=r"s.csv:3: inf in field 'output' is not a JSON number"):
        ingest(tmp_path / "s.csv", tmp_path / "out", input_cols=["question"], output_col="answer")
    assert not (tmp_path / "out").exists()
