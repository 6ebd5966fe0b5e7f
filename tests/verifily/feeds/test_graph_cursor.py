"""The graph feed's cursor: windows of whole completed jobs, a small cursor, changes caught."""

import json

import pytest

from verifily.feeds import FeedError
from verifily.feeds.graph_cursor import (
    MAX_LISTED_JOBS,
    WATCH_JOBS,
    JobRow,
    TickView,
    check_consumed,
    compact,
    next_window,
    shift,
    window_rows,
)

NOW = "2026-11-01T12:00:00.000000000Z"
START = {"hwm": None, "folded": 0, "jobs": []}


def at(seconds_before_now: float) -> str:
    return shift(NOW, -seconds_before_now)


def view(rows, folded=None, truncated=False, now=NOW) -> TickView:
    return TickView(folded=folded, rows=rows, truncated=truncated, now=now)


def tick(position, rows, limit=1000, grace=300, **kw):
    """What a tick does: check what was consumed, then cut the next window."""
    v = view(rows, **kw)
    check_consumed(position, v)
    return next_window(position, v, limit, grace)


def test_shift_keeps_nanoseconds_and_sorts_as_text():
    t = "2026-11-01T12:00:00.123456789Z"
    assert shift(t, -1) == "2026-11-01T11:59:59.123456789Z"
    assert shift(t, 0.5) == "2026-11-01T12:00:00.623456789Z"
    assert sorted([shift(t, 3600), t, shift(t, -86400)]) == [shift(t, -86400), t, shift(t, 3600)]


def test_window_takes_whole_jobs_in_completion_order():
    rows = [JobRow("b", at(50), 30), JobRow("a", at(40), 20, at(100)), JobRow("c", at(30), 5)]
    p = tick(START, rows)
    assert p.count == 55
    assert [r.job for r in window_rows(p.end)] == ["b", "a", "c"]
    assert window_rows(p.end)[1].started_at == at(100)
    assert "window" not in compact(p.end)


def test_the_limit_stops_before_a_job_that_would_pass_it():
    rows = [JobRow("a", at(50), 30), JobRow("b", at(40), 30), JobRow("c", at(30), 30)]
    p = tick(START, rows, limit=70)
    assert p.count == 60 and [r.job for r in window_rows(p.end)] == ["a", "b"]
    assert "more completed ingestion jobs" in p.note
    # A single job larger than the limit is a window of its own: progress, never a stall.
    big = tick(START, [JobRow("huge", at(50), 500)], limit=70)
    assert big.count == 500


def test_next_tick_sees_only_unseen_jobs_and_skips_say_how_many_jobs_wait():
    first = tick(START, [JobRow("a", at(50), 49)])
    cursor = compact(first.end)
    again = tick(cursor, [JobRow("a", at(50), 49)])
    assert again.count == 0 and not window_rows(again.end)
    more = tick(cursor, [JobRow("a", at(50), 49), JobRow("b", at(10), 1)])
    assert more.count == 1 and [r.job for r in window_rows(more.end)] == ["b"]
    assert "1 completed ingestion job(s) not yet consumed" in more.note


def test_a_job_completing_late_behind_newer_ones_is_still_consumed():
    # b (completed 20 s ago) is consumed first; a's completion (stamped 40 s ago) commits later.
    first = tick(START, [JobRow("b", at(20), 50)])
    cursor = compact(first.end)
    assert cursor["hwm"] is None  # inside the grace period: b stays listed, the mark waits
    late = tick(cursor, [JobRow("a", at(40), 50), JobRow("b", at(20), 50)])
    assert [r.job for r in window_rows(late.end)] == ["a"]


def test_old_jobs_fold_into_the_mark_and_the_cursor_stays_small():
    cursor, rows = START, []
    for i in range(600):
        rows.append(JobRow(f"job-{i:04d}", at(10_000 - i), 1))
        # The query returns only jobs after the mark; feed it what a server would.
        visible = [r for r in rows if cursor["hwm"] is None or r.completed_at > cursor["hwm"]]
        p = tick(cursor, visible, folded=cursor["folded"] if cursor["hwm"] else None)
        assert p.count == 1
        cursor = compact(p.end)
    assert len(cursor["jobs"]) == WATCH_JOBS
    assert cursor["folded"] == 600 - WATCH_JOBS
    assert cursor["hwm"] == rows[-WATCH_JOBS - 1].completed_at
    assert len(json.dumps(cursor)) < 1024


def test_many_jobs_inside_the_grace_period_are_capped():
    rows = [JobRow(f"j{i:04d}", at(100 - i * 0.01), 1) for i in range(MAX_LISTED_JOBS + 40)]
    p = tick(START, rows, limit=10_000)
    cursor = compact(p.end)
    assert len(cursor["jobs"]) == MAX_LISTED_JOBS and cursor["folded"] == 40


def test_the_mark_never_passes_a_job_left_for_a_later_window():
    rows = [JobRow("a", at(900), 40), JobRow("b", at(800), 40), JobRow("c", at(700), 40)]
    rows += [JobRow(f"w{i}", at(600 - i), 1) for i in range(10)]
    p = tick(START, rows, limit=50)  # only a fits; b, c and the rest wait
    cursor = compact(p.end)
    assert cursor["hwm"] is None or cursor["hwm"] < at(800)
    rest = tick(cursor, rows, limit=50, folded=cursor["folded"] if cursor["hwm"] else None)
    assert [r.job for r in window_rows(rest.end)] == ["b"]


def test_jobs_with_the_same_completion_time_are_never_split_by_the_mark():
    same = at(1000)
    ties = [JobRow(f"t{i}", same, 1) for i in range(4)]
    newer = [JobRow(f"n{i}", at(900 - i), 1) for i in range(WATCH_JOBS - 1)]
    # Keeping WATCH_JOBS listed would fold three of the four ties: it folds none instead.
    cursor = compact(tick(START, ties + newer).end)
    assert cursor["hwm"] is None and len(cursor["jobs"]) == 4 + WATCH_JOBS - 1
    # One more newer job and all four fold together.
    more = newer + [JobRow("n-last", at(100), 1)]
    cursor = compact(tick(cursor, ties + more).end)
    assert cursor["hwm"] == same and cursor["folded"] == 4


def test_a_truncated_read_leaves_the_last_time_read_for_the_next_tick():
    rows = [JobRow("a", at(900), 10), JobRow("b", at(800), 10), JobRow("c", at(800), 10)]
    p = tick(START, rows, truncated=True)
    assert [r.job for r in window_rows(p.end)] == ["a"]
    assert compact(p.end)["hwm"] is None or compact(p.end)["hwm"] < at(800)


@pytest.mark.parametrize(
    "now_rows,message",
    [
        ([JobRow("a", at(50), 51)], "had 50 entities when it was consumed and has 51 now"),
        ([JobRow("a", at(5), 50)], "now says"),
        ([], "no longer a completed job"),
        ([JobRow("a", at(50), 50), JobRow("a", at(50), 50)], "more than one"),
    ],
)
def test_a_consumed_job_that_changes_is_an_error(now_rows, message):
    cursor = compact(tick(START, [JobRow("a", at(50), 50)]).end)
    with pytest.raises(FeedError, match=message):
        tick(cursor, now_rows)


def test_a_change_behind_the_mark_is_caught_by_the_count():
    rows = [JobRow(f"j{i}", at(5000 - i), 10) for i in range(WATCH_JOBS + 5)]
    cursor = compact(tick(START, rows, limit=10_000).end)
    assert cursor["folded"] == 5
    after = [r for r in rows if r.completed_at > cursor["hwm"]]
    assert tick(cursor, after, folded=5).count == 0
    with pytest.raises(FeedError, match="4 ingestion jobs are completed at or before"):
        tick(cursor, after, folded=4)  # one folded job deleted or reopened
    with pytest.raises(FeedError, match="completion grace period"):
        tick(cursor, after, folded=6)  # a job appeared behind the mark, too late


def test_a_damaged_cursor_is_an_error():
    with pytest.raises(FeedError, match="cursor is damaged"):
        tick({"hwm": 5, "folded": 0, "jobs": []}, [])
    with pytest.raises(FeedError, match="cursor is damaged"):
        tick({"hwm": None, "folded": 0, "jobs": [["a", "t"]]}, [])
