"""The JSONL directory feed: byte-offset positions, partial lines, shrunk and replaced files."""

import json
import os

import pytest

from tests.support.feeds import append_jsonl, records
from verifily.feeds import FeedError
from verifily.feeds.jsonl import JsonlFeed


def test_counts_only_what_is_new_and_reads_the_window(tmp_path):
    feed = JsonlFeed(tmp_path)
    append_jsonl(tmp_path / "a.jsonl", records(0, 3))
    first = feed.pending({})
    assert first.count == 3
    append_jsonl(tmp_path / "a.jsonl", records(3, 2))
    append_jsonl(tmp_path / "b.jsonl", records(5, 4))
    second = feed.pending(first.end)
    assert second.count == 6
    got = [r["id"] for r in feed.read_window(first.end, second.end)]
    assert got == [f"r{i}" for i in range(3, 9)]
    assert feed.pending(second.end).count == 0


def test_half_written_last_line_waits_for_its_newline(tmp_path):
    feed = JsonlFeed(tmp_path)
    path = tmp_path / "a.jsonl"
    append_jsonl(path, records(0, 2))
    with open(path, "ab") as f:
        f.write(b'{"id": "r2", "input": "quest')
    p = feed.pending({})
    assert p.count == 2
    assert [r["id"] for r in feed.read_window({}, p.end)] == ["r0", "r1"]
    with open(path, "ab") as f:
        f.write(b'ion 2", "output": "a"}\n')
    p2 = feed.pending(p.end)
    assert p2.count == 1
    assert [r["id"] for r in feed.read_window(p.end, p2.end)] == ["r2"]


def test_shrunk_file_is_reported(tmp_path):
    feed = JsonlFeed(tmp_path)
    path = tmp_path / "a.jsonl"
    append_jsonl(path, records(0, 5))
    p = feed.pending({})
    with open(path, "r+b") as f:
        f.truncate(10)
    with pytest.raises(FeedError, match="shrank from .* to 10 bytes"):
        feed.pending(p.end)


def test_replaced_file_is_reported_not_reread(tmp_path):
    feed = JsonlFeed(tmp_path)
    path = tmp_path / "a.jsonl"
    append_jsonl(path, records(0, 5))
    p = feed.pending({})
    tmp = tmp_path / ".a.new"
    tmp.write_bytes(
        path.read_bytes() + b"".join(json.dumps(r).encode() + b"\n" for r in records(5, 1))
    )
    os.replace(tmp, path)
    with pytest.raises(FeedError, match="replaced"):
        feed.pending(p.end)


def test_removed_file_is_reported(tmp_path):
    feed = JsonlFeed(tmp_path)
    append_jsonl(tmp_path / "a.jsonl", records(0, 2))
    p = feed.pending({})
    (tmp_path / "a.jsonl").unlink()
    with pytest.raises(FeedError, match="disappeared"):
        feed.pending(p.end)


def test_start_at_end_skips_history_but_not_a_partial_line(tmp_path):
    path = tmp_path / "a.jsonl"
    append_jsonl(path, records(0, 4))
    with open(path, "ab") as f:
        f.write(b'{"id": "r4", ')
    feed = JsonlFeed(tmp_path)
    start = feed.start_position("end")
    with open(path, "ab") as f:
        f.write(b'"input": "q", "output": "a"}\n')
    p = feed.pending(start)
    assert p.count == 1
    assert [r["id"] for r in feed.read_window(start, p.end)] == ["r4"]


def test_bad_json_line_names_file_and_byte(tmp_path):
    path = tmp_path / "a.jsonl"
    append_jsonl(path, records(0, 1))
    with open(path, "ab") as f:
        f.write(b"{not json\n")
    feed = JsonlFeed(tmp_path)
    p = feed.pending({})
    with pytest.raises(FeedError, match=r"a\.jsonl: byte \d+: not a JSON record"):
        list(feed.read_window({}, p.end))


def test_missing_directory_is_an_empty_feed(tmp_path):
    assert JsonlFeed(tmp_path / "nope").pending({}).count == 0


def test_limit_stops_at_the_nth_complete_line(tmp_path):
    feed = JsonlFeed(tmp_path)
    append_jsonl(tmp_path / "a.jsonl", records(0, 7))
    append_jsonl(tmp_path / "b.jsonl", records(7, 5))
    first = feed.pending({}, limit=9)
    assert first.count == 9
    assert [r["id"] for r in feed.read_window({}, first.end)] == [f"r{i}" for i in range(9)]
    rest = feed.pending(first.end, limit=100)
    assert rest.count == 3
    assert [r["id"] for r in feed.read_window(first.end, rest.end)] == ["r9", "r10", "r11"]
