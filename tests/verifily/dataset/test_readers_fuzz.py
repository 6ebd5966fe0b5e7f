"""Every JSONL reader under hypothesis: any byte string gives records or an error naming the
file and line (or byte), never an exception of another kind."""

import json
import re
import shutil
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifily.contamination.report import eval_file_records
from verifily.dataset.artifact import dataset_hash_of, iter_records
from verifily.dataset.ingest import ingest
from verifily.dataset.verify import verify_artifact
from verifily.errors import DatasetError, InputError
from verifily.feeds import FeedError
from verifily.feeds.jsonl import JsonlFeed
from verifily.hashing import sha256_bytes

GOOD = b'{"input": "q", "output": "a", "split": "train"}'
HOSTILE = [
    GOOD,
    b'{"input": "q", "output": NaN}',
    b'{"input": "q", "output": 1e999}',
    b'{"input": "q", "output": 1, "output": 2}',
    b'{"input": "q", "output": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    b'{"input": "\\udc00", "output": 1}',
    b'{"input": "q", "output": 1}\r',
    b"",
    b"  ",
    b"\xff\xfe",
    b"[1, 2]",
    b'{"input": 5, "output": {}}',
    b'{"id": "x", "input": "q", "output": "a"}',
]
LINES = st.lists(st.sampled_from(HOSTILE) | st.binary(max_size=40), min_size=1, max_size=6)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _file(root: Path, data: bytes, name: str = "dataset.jsonl") -> Path:
    d = root / uuid.uuid4().hex
    d.mkdir()
    (d / name).write_bytes(data)
    return d


def _artifact(root: Path, data: bytes) -> Path:
    """An artifact whose hashes.json matches its bytes, so only line problems remain."""
    d = _file(root, data)
    n = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    sha = sha256_bytes(data)
    (d / "hashes.json").write_text(
        json.dumps(
            {"format_version": 1, "files": {"dataset.jsonl": sha}, "record_count": n,
             "dataset_hash": dataset_hash_of(sha, n)}
        )
    )  # fmt: skip
    return d


def _names_a_line(message: str, path: Path) -> bool:
    return bool(re.search(re.escape(str(path)) + r":\d+: ", message))


@FUZZ
@given(LINES)
def test_verify_names_the_line_of_every_problem(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("verify")
    d = _artifact(root, b"\n".join(lines) + b"\n")
    try:
        verify_artifact(d)
    except DatasetError as e:
        line_problems = [p for p in e.problems if str(d / "dataset.jsonl") + ":" in p]
        assert all(_names_a_line(p, d / "dataset.jsonl") for p in line_problems), e.problems
        assert line_problems or any("hashes.json" in p or "empty" in p for p in e.problems)
    shutil.rmtree(d)


@FUZZ
@given(LINES)
def test_ingest_names_the_line_or_writes_a_valid_artifact(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("ingest")
    d = _file(root, b"\n".join(lines) + b"\n", "src.jsonl")
    try:
        info = ingest(d / "src.jsonl", d / "out")
    except InputError as e:
        assert _names_a_line(str(e), d / "src.jsonl") or "no records" in str(e), str(e)
    else:
        # What ingest writes always verifies: no NaN or other non-JSON ever reaches disk.
        assert verify_artifact(d / "out").dataset_hash == info.dataset_hash
    shutil.rmtree(d)


@FUZZ
@given(LINES)
def test_retrain_record_reader_names_the_line(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("iter")
    d = _file(root, b"\n".join(lines) + b"\n")
    try:
        for rec in iter_records(d):
            assert isinstance(rec["input"], str) and rec["split"] in ("train", "eval")
    except InputError as e:
        assert _names_a_line(str(e), d / "dataset.jsonl"), str(e)
    shutil.rmtree(d)


@FUZZ
@given(LINES)
def test_eval_file_reader_names_the_line(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("evalfile")
    d = _file(root, b"\n".join(lines) + b"\n", "bench.jsonl")
    try:
        list(eval_file_records(d / "bench.jsonl"))
    except InputError as e:
        assert _names_a_line(str(e), d / "bench.jsonl"), str(e)
    shutil.rmtree(d)


@FUZZ
@given(LINES)
def test_feed_window_names_the_file_and_byte(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("feed")
    d = _file(root, b"\n".join(lines) + b"\n", "part-0.jsonl")
    feed = JsonlFeed(d)
    start = feed.start_position()
    end = feed.pending(start).end
    try:
        for rec in feed.read_window(start, end):
            assert isinstance(rec, dict)
    except FeedError as e:
        assert re.search(re.escape(str(d / "part-0.jsonl")) + r": byte \d+: ", str(e)), str(e)
    shutil.rmtree(d)
