"""The graph feed's cursor: which ingestion jobs are consumed, kept small (no Neo4j here).

A graph feed's unit is a completed ingestion job, ordered by its completion time. A position is

    {"hwm": T | None, "folded": N, "jobs": [[job, completed_at, entities], ...]}

meaning: every completed job with `completed_at <= T` has been consumed (there are N of them),
and so have the listed jobs, which all completed after T. Times are UTC ISO-8601 strings with
nanoseconds (`instant_text`), so they sort as text.

Why not just a high-water mark: a job's completion is committed some time after its
`completed_at` is stamped, so job B (completed 10:00:05) can become visible before job A
(completed 10:00:03). A cursor that jumped to 10:00:05 would never see A. So the high-water mark
only moves over jobs that completed more than the grace period ago (by then every job that
completed before it is visible); the jobs consumed since are listed. Listed jobs are also
watched: each tick's query returns them again, and one whose entity count or completion time
changed, or that is no longer completed, stops the feed with an error instead of being
silently retrained on or skipped. The jobs folded into the high-water mark are checked by
count: a job deleted or reopened behind it, or one that became visible more than the grace
period late, changes that count and is reported.

`pending`'s end position also carries the window itself (`"window"`), so reading and
describing it need no second look at the cursor; `compact` drops it before it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from verifily.feeds import FeedError, Pending

# Consumed jobs stay listed (and watched for changes) at least this many, even when older
# than the grace period: the most likely to be corrected are the last few.
WATCH_JOBS = 8
# A cursor lists at most this many jobs; beyond it the oldest are folded even inside the grace
# period, so a burst of tiny jobs cannot grow the cursor without bound (it stays < ~30 KB).
MAX_LISTED_JOBS = 256
# One tick reads at most this many unseen jobs (a window never spans more).
MAX_JOBS_PER_WINDOW = 10_000


def instant_text(t: datetime, nanosecond: int | None = None) -> str:
    """A UTC instant as sortable text: `2026-11-01T10:00:00.123456789Z`."""
    t = t.astimezone(UTC) if t.tzinfo is not None else t.replace(tzinfo=UTC)
    ns = t.microsecond * 1000 if nanosecond is None else nanosecond
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"


def shift(instant: str, seconds: float) -> str:
    """`instant` moved by `seconds` (nanoseconds kept where the shift is whole microseconds)."""
    base = datetime.strptime(instant[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    ns = int(instant[20:29])
    moved = base + timedelta(microseconds=ns // 1000) + timedelta(seconds=seconds)
    return instant_text(moved, moved.microsecond * 1000 + ns % 1000)


@dataclass(frozen=True)
class JobRow:
    """One completed ingestion job as a tick saw it."""

    job: str | int
    completed_at: str
    entities: int
    started_at: str | None = None

    def listed(self) -> list:
        return [self.job, self.completed_at, self.entities]


@dataclass(frozen=True)
class TickView:
    """What one tick's query returned: the count behind the high-water mark, the completed jobs
    after it in completion order (`truncated` when there were more than it read), and the
    server's clock."""

    folded: int | None
    rows: list[JobRow]
    truncated: bool
    now: str


def _job_id(value: object, where: str) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FeedError(f"{where}: an ingestion job id must be a string or an integer")
    return value


def _key(job: str | int) -> tuple[int, str | int]:
    # Integer and string ids never compare with each other; keep them apart, integers first.
    return (0, job) if isinstance(job, int) else (1, job)


def parse_position(position: dict) -> tuple[str | None, int, list[list]]:
    """(hwm, folded, listed jobs) of a stored position; a malformed one is a FeedError."""
    try:
        hwm = position.get("hwm")
        folded = position.get("folded", 0)
        jobs = position.get("jobs", [])
        if hwm is not None and not isinstance(hwm, str):
            raise TypeError("hwm")
        if isinstance(folded, bool) or not isinstance(folded, int) or folded < 0:
            raise TypeError("folded")
        listed = []
        for j in jobs:
            job, t, n = j
            if not isinstance(t, str) or isinstance(n, bool) or not isinstance(n, int):
                raise TypeError("jobs")
            listed.append([_job_id(job, "feed cursor"), t, n])
    except (TypeError, ValueError, AttributeError) as e:
        raise FeedError(f"graph feed cursor is damaged ({e}): {str(position)[:200]}") from None
    return hwm, folded, listed


def check_consumed(position: dict, view: TickView) -> None:
    """Raise a FeedError naming the job when anything already consumed has changed."""
    hwm, folded, listed = parse_position(position)
    if hwm is not None and view.folded != folded:
        raise FeedError(
            f"{view.folded} ingestion jobs are completed at or before {hwm}, but the feed "
            f"consumed {folded}: a consumed job was deleted, reopened or re-completed, or a job "
            "became visible longer than the completion grace period after its completed_at "
            "(raise completion_grace_seconds); restore the graph, or reset the sensor's cursor "
            "to start over"
        )
    seen: dict[str | int, JobRow] = {}
    for row in view.rows:
        if row.job in seen:
            raise FeedError(f"ingestion job {row.job!r} is on more than one completed job node")
        seen[row.job] = row
    # Past a truncated read, listed jobs may simply not have been read this time.
    edge = view.rows[-1].completed_at if view.truncated and view.rows else None
    for job, t, n in listed:
        if edge is not None and t >= edge:
            continue
        row = seen.get(job)
        if row is None:
            raise FeedError(
                f"ingestion job {job!r} was consumed (completed {t}, {n} entities) but is no "
                "longer a completed job: it was deleted, reopened, or its completed_at moved"
            )
        if row.completed_at != t:
            raise FeedError(
                f"ingestion job {job!r} was consumed as completed at {t}, but now says "
                f"{row.completed_at}: a consumed job was completed again"
            )
        if row.entities != n:
            raise FeedError(
                f"ingestion job {job!r} had {n} entities when it was consumed and has "
                f"{row.entities} now: entities were added to or removed from a consumed job"
            )


def _fold(
    hwm: str | None, folded: int, listed: list[list], cutoff: str, bound: str | None
) -> tuple[str | None, int, list[list]]:
    """Fold the oldest listed jobs into the high-water mark where that is safe.

    Safe: completed before `cutoff` (every job completed before it is visible by now) and
    before `bound` (the oldest completed job known not to be consumed). At least WATCH_JOBS stay
    listed; never more than MAX_LISTED_JOBS. The mark never splits jobs with the same time.
    """
    listed = sorted(listed, key=lambda j: (j[1], _key(j[0])))
    k = 0
    while k < len(listed) - WATCH_JOBS and listed[k][1] < cutoff:
        k += 1
    k = max(k, len(listed) - MAX_LISTED_JOBS)
    if bound is not None:
        while k > 0 and listed[k - 1][1] >= bound:
            k -= 1
    while 0 < k < len(listed) and listed[k][1] == listed[k - 1][1]:
        k -= 1
    if k == 0:
        return hwm, folded, listed
    return listed[k - 1][1], folded + k, listed[k:]


def next_window(position: dict, view: TickView, limit: int | None, grace_seconds: float) -> Pending:
    """The unseen completed jobs a window takes, whole, in completion order.

    The window stops before the job that would take it past `limit` entities (a single job
    larger than `limit` makes a window of its own). `end` is the position after the window,
    with the window's jobs under "window".
    """
    hwm, folded, listed = parse_position(position)
    consumed = {j[0] for j in listed}
    rows = view.rows
    bound = None
    if view.truncated and rows:
        # Jobs completed at the last time read may continue past the read: leave them all.
        bound = rows[-1].completed_at
        rows = [r for r in rows if r.completed_at < bound]
    unseen = [r for r in rows if r.job not in consumed]
    window: list[JobRow] = []
    total = 0
    for row in unseen:
        if window and limit and total + row.entities > limit:
            break
        window.append(row)
        total += row.entities
    rest = unseen[len(window) :]
    if rest:
        # The oldest job left for a later window: the mark must stay below it.
        bound = rest[0].completed_at
    hwm, folded, listed = _fold(
        hwm,
        folded,
        listed + [r.listed() for r in window],
        shift(view.now, -grace_seconds),
        bound,
    )
    end = {
        "hwm": hwm,
        "folded": folded,
        "jobs": listed,
        "window": [[r.job, r.completed_at, r.entities, r.started_at] for r in window],
    }
    note = ""
    if rest or view.truncated:
        note = "more completed ingestion jobs wait beyond this window"
    elif unseen:
        note = f"{len(unseen)} completed ingestion job(s) not yet consumed"
    return Pending(total, end, note)


def window_rows(end: dict) -> list[JobRow]:
    """The jobs of the window that `next_window` put into `end`."""
    try:
        return [
            JobRow(_job_id(job, "feed window"), t, n, started)
            for job, t, n, started in end.get("window", [])
        ]
    except (TypeError, ValueError) as e:
        raise FeedError(f"graph feed window is damaged ({e})") from None


def compact(position: dict) -> dict:
    """The position as the cursor stores it: without the window it was cut with."""
    return {k: v for k, v in position.items() if k != "window"}
