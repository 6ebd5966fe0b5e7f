"""Dataset artifacts: one-pass verification names every problem with file and line."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifily.dataset.artifact import write_artifact
from verifily.dataset.verify import verify_artifact
from verifily.errors import DatasetError, InputError

RECORDS = [
    {"id": "a", "input": "2+2", "output": "4", "split": "train"},
    {"id": "b", "input": "capital of France", "output": "Paris", "split": "eval"},
    {"id": "c", "input": "is water wet", "output": True},
    {"id": 4, "input": "pi", "output": 3.14159, "meta": {"source": "test"}},
]


def rewrite(d, lines: list[bytes]):
    """Replace dataset.jsonl with raw lines while keeping hashes.json (now stale)."""
    (d / "dataset.jsonl").write_bytes(b"".join(lines))


def refresh_hashes(d):
    """Recompute hashes.json for the current dataset.jsonl so only content problems remain."""
    from verifily.dataset.artifact import dataset_hash_of
    from verifily.hashing import sha256_file

    data = (d / "dataset.jsonl").read_bytes()
    n = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    meta = json.loads((d / "hashes.json").read_text())
    sha = sha256_file(d / "dataset.jsonl")
    meta.update(files={"dataset.jsonl": sha}, record_count=n, dataset_hash=dataset_hash_of(sha, n))
    (d / "hashes.json").write_text(json.dumps(meta))


def test_write_then_verify_round_trip(tmp_path):
    info = write_artifact(RECORDS, tmp_path / "art")
    again = verify_artifact(tmp_path / "art")
    assert again.dataset_hash == info.dataset_hash
    assert again.record_count == 4
    assert sum(again.split_counts.values()) == 4
    assert verify_artifact(tmp_path / "art", integrity_only=True).dataset_hash == info.dataset_hash


def test_same_records_same_hash_other_records_other_hash(tmp_path):
    a = write_artifact(RECORDS, tmp_path / "a")
    b = write_artifact(RECORDS, tmp_path / "b")
    c = write_artifact(RECORDS[:3], tmp_path / "c")
    assert a.dataset_hash == b.dataset_hash != c.dataset_hash


def test_write_refuses_non_empty_target(tmp_path):
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "keep.txt").write_text("precious")
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_artifact(RECORDS, tmp_path / "art")
    assert (tmp_path / "art" / "keep.txt").read_text() == "precious"


def test_write_invalid_record_leaves_nothing(tmp_path):
    with pytest.raises(InputError, match="record 2: missing required field 'input'"):
        write_artifact([RECORDS[0], {"output": "x"}], tmp_path / "art")
    assert not (tmp_path / "art").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "lines, expected",
    [
        (
            [b'{"input": "a", "output": "b"}\n', b'{"input": "a", "output": \n'],
            ":2: malformed JSON",
        ),
        (
            [b'{"input": "a", "output": "b"}\n', b'{"input": "\xff\xfe", "output": "b"}\n'],
            ":2: invalid UTF-8",
        ),
        (
            [
                b'{"id": 1, "input": "a", "output": "b"}\n',
                b'{"id": 1, "input": "c", "output": "d"}\n',
            ],
            ":2: duplicate id 1",
        ),
        ([b'{"output": "b"}\n'], ":1: missing required field 'input'"),
        ([b'{"input": "a"}\n'], ":1: missing required field 'output'"),
        ([b'{"input": 5, "output": "b"}\n'], ":1: 'input' must be a string, got number"),
        (
            [b'{"input": "a", "output": null}\n'],
            ":1: 'output' must be a string, number or boolean, got null",
        ),
        (
            [b'{"input": "a", "output": "b", "split": "test"}\n'],
            ":1: 'split' must be 'train' or 'eval'",
        ),
        ([b'["input", "output"]\n'], ":1: record must be a JSON object, got list"),
        (
            [b'{"input": "a", "output": "b"}\n', b"\n", b'{"input": "c", "output": "d"}\n'],
            ":2: blank line",
        ),
    ],
)
def test_bad_records_are_named_with_file_and_line(tmp_path, lines, expected):
    write_artifact(RECORDS, tmp_path / "art")
    rewrite(tmp_path / "art", lines)
    refresh_hashes(tmp_path / "art")
    with pytest.raises(DatasetError) as err:
        verify_artifact(tmp_path / "art")
    assert any(expected in p and "dataset.jsonl" in p for p in err.value.problems), (
        err.value.problems
    )


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    write_artifact(RECORDS, tmp_path / "art")
    rewrite(
        tmp_path / "art",
        [b'{"output": 1}\n', b"{oops\n", b'{"input": "x", "output": "y"}\n', b'{"input": 1}\n'],
    )
    refresh_hashes(tmp_path / "art")
    with pytest.raises(DatasetError) as err:
        verify_artifact(tmp_path / "art")
    lines = {
        p.split("dataset.jsonl:")[1].split(":")[0]
        for p in err.value.problems
        if "dataset.jsonl:" in p
    }
    assert lines == {"1", "2", "4"}


def test_hash_mismatch_and_missing_files(tmp_path):
    write_artifact(RECORDS, tmp_path / "art")
    with open(tmp_path / "art" / "dataset.jsonl", "ab") as f:
        f.write(b'{"input": "new", "output": "row"}\n')
    with pytest.raises(DatasetError, match="sha256 of dataset.jsonl is"):
        verify_artifact(tmp_path / "art")
    with pytest.raises(DatasetError, match="has 5 records, hashes.json says 4"):
        verify_artifact(tmp_path / "art", integrity_only=True)
    (tmp_path / "art" / "hashes.json").unlink()
    with pytest.raises(DatasetError, match="hashes.json: missing"):
        verify_artifact(tmp_path / "art")
    (tmp_path / "art" / "dataset.jsonl").unlink()
    with pytest.raises(DatasetError, match="dataset.jsonl: missing"):
        verify_artifact(tmp_path / "art")
    with pytest.raises(DatasetError, match="does not exist"):
        verify_artifact(tmp_path / "nope")


def test_empty_dataset_is_an_error(tmp_path):
    write_artifact(RECORDS, tmp_path / "art")
    rewrite(tmp_path / "art", [])
    refresh_hashes(tmp_path / "art")
    with pytest.raises(DatasetError, match="empty dataset"):
        verify_artifact(tmp_path / "art")
    with pytest.raises(InputError, match="would be empty"):
        write_artifact([], tmp_path / "empty")


def test_last_line_without_newline_counts(tmp_path):
    write_artifact(RECORDS, tmp_path / "art")
    data = (tmp_path / "art" / "dataset.jsonl").read_bytes().rstrip(b"\n")
    rewrite(tmp_path / "art", [data])
    refresh_hashes(tmp_path / "art")
    assert verify_artifact(tmp_path / "art").record_count == 4
    assert verify_artifact(tmp_path / "art", integrity_only=True).record_count == 4


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "input": st.text(max_size=40),
                "output": st.one_of(
                    st.text(max_size=20),
                    st.integers(),
                    st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False),
                ),
            }
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_valid_records_round_trip(tmp_path_factory, records):
    d = tmp_path_factory.mktemp("prop") / "art"
    info = write_artifact(records, d)
    assert verify_artifact(d).record_count == len(records) == info.record_count


@pytest.mark.parametrize("name", ["dataset.jsonl", "hashes.json"])
def test_a_symlinked_artifact_file_is_refused_not_read(tmp_path, name):
    """A link planted in an artifact must not make verify (or a server, on a request's behalf)
    read, hash or count a file elsewhere."""
    write_artifact(RECORDS, tmp_path / "art")
    outside = tmp_path / f"outside-{name}"
    (tmp_path / "art" / name).rename(outside)
    (tmp_path / "art" / name).symlink_to(outside)
    for integrity_only in (False, True):
        with pytest.raises(DatasetError, match=f"{name}: is a symbolic link") as e:
            verify_artifact(tmp_path / "art", integrity_only=integrity_only)
        assert "sha256" not in str(e.value) and "records" not in str(e.value)


def test_a_directory_or_fifo_in_place_of_the_dataset_is_refused(tmp_path):
    import os

    write_artifact(RECORDS, tmp_path / "art")
    (tmp_path / "art" / "dataset.jsonl").unlink()
    os.mkfifo(tmp_path / "art" / "dataset.jsonl")  # opening it must not block
    with pytest.raises(DatasetError, match="not a regular file"):
        verify_artifact(tmp_path / "art")
    (tmp_path / "art" / "dataset.jsonl").unlink()
    (tmp_path / "art" / "dataset.jsonl").mkdir()
    with pytest.raises(DatasetError, match="is a directory"):
        verify_artifact(tmp_path / "art")
