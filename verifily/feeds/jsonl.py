"""An append-only JSONL directory feed; a position is a byte offset (and inode) per file.

Only bytes after the stored offset are read, so a tick costs what was appended, not the size
of the feed. Only complete lines count: a last line still being written (no newline yet) is
left for a later tick. A file that shrank or whose inode changed is reported, never re-read.

A position is `{"files": {name: [offset, inode]}, "sealed": [last_name, count, digest]}`.
To keep cursors small on directories of many rotated files, `compact` folds fully read files
that sort before the newest one into `sealed`: a count and a digest of their names, sizes and
inodes. Sealed files are still stat-checked every tick, so appending to, removing or
replacing one of them is reported instead of silently missed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from verifily.feeds import FeedError, Pending
from verifily.strictjson import JSONRuleError, parse_line

SUFFIXES = (".jsonl", ".ndjson")
CHUNK = 1 << 20
# Files tracked one by one before older, fully read ones are sealed (keeps cursors < 1 KB).
MAX_ACTIVE_FILES = 12


def _files(root: Path) -> dict[str, os.stat_result]:
    """The feed's data files (by name) and their stat; hidden files are writers' temporaries."""
    if not root.is_dir():
        return {}
    out = {}
    with os.scandir(root) as it:
        for e in it:
            if e.name.endswith(SUFFIXES) and not e.name.startswith(".") and e.is_file():
                out[e.name] = e.stat()
    return out


def _end_of_complete_lines(path: Path, start: int, size: int, limit: int) -> tuple[int, int]:
    """(newline count, offset just after the last one) in bytes [start, size), at most `limit`."""
    count, last = 0, start
    buf = bytearray(CHUNK)
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        pos = start
        while pos < size and count < limit:
            n = f.readinto(memoryview(buf)[: min(CHUNK, size - pos)])
            if not n:
                break
            c = buf.count(b"\n", 0, n)
            if count + c > limit:
                # Stop at the limit-th newline: the rest is the next window's.
                i = -1
                for _ in range(limit - count):
                    i = buf.index(b"\n", i + 1, n)
                return limit, pos + i + 1
            if c:
                count += c
                last = pos + buf.rindex(b"\n", 0, n) + 1
            pos += n
    return count, last


def _last_newline_before(path: Path, size: int) -> int:
    """Offset just after the last newline in the first `size` bytes (0 if there is none)."""
    with open(path, "rb") as f:
        pos = size
        while pos > 0:
            step = min(CHUNK, pos)
            f.seek(pos - step)
            data = f.read(step)
            i = data.rfind(b"\n")
            if i >= 0:
                return pos - step + i + 1
            pos -= step
    return 0


def _digest(files: dict[str, os.stat_result], names: list[str]) -> str:
    h = hashlib.sha256()
    for n in names:
        st = files[n]
        h.update(f"{n}\0{st.st_size}\0{st.st_ino}\n".encode())
    return h.hexdigest()[:16]


class JsonlFeed:
    """A directory of append-only `*.jsonl` files, read in file-name order."""

    def __init__(self, path: str | os.PathLike):
        self.root = Path(path)

    def _checked(self, position: dict) -> dict[str, os.stat_result]:
        """The files not sealed, after checking that nothing consumed changed underneath."""
        files = _files(self.root)
        if sealed := position.get("sealed"):
            upto, count, digest = sealed
            names = sorted(n for n in files if n <= upto)
            if len(names) != count or _digest(files, names) != digest:
                raise FeedError(
                    f"{self.root}: a fully read feed file up to {upto!r} was appended to, "
                    f"removed or replaced, or a file sorting before it appeared ({len(names)} "
                    f"files now, {count} when sealed); old files must not change once newer "
                    "files exist"
                )
            files = {n: st for n, st in files.items() if n > upto}
        for name, (offset, inode) in position.get("files", {}).items():
            st = files.get(name)
            if st is None:
                raise FeedError(
                    f"{self.root / name}: feed file disappeared after {offset} bytes were "
                    "consumed; the feed is append-only"
                )
            if st.st_ino != inode:
                raise FeedError(
                    f"{self.root / name}: feed file was replaced (inode {inode} -> {st.st_ino}); "
                    "refusing to re-read it from the start"
                )
            if st.st_size < offset:
                raise FeedError(
                    f"{self.root / name}: feed file shrank from {offset} to {st.st_size} bytes; "
                    "the feed is append-only, so records already consumed were removed"
                )
        return files

    def start_position(self, start_at: str = "beginning") -> dict:
        """Where a new cursor starts: before every record, or after every complete one."""
        if start_at == "beginning":
            return {"files": {}}
        files = _files(self.root)
        return self.compact(
            {
                "files": {
                    name: [_last_newline_before(self.root / name, st.st_size), st.st_ino]
                    for name, st in sorted(files.items())
                }
            }
        )

    def compact(self, position: dict) -> dict:
        """Seal the oldest fully read files when too many are tracked one by one."""
        active = dict(position.get("files", {}))
        if len(active) <= MAX_ACTIVE_FILES:
            return position
        files = _files(self.root)
        upto, _, _ = position.get("sealed") or ["", 0, ""]
        newest = max(active)
        for name in sorted(active):
            st = files.get(name)
            full = st is not None and active[name][0] == st.st_size
            if len(active) <= MAX_ACTIVE_FILES or name == newest or not full:
                break
            del active[name]
            upto = name
        names = sorted(n for n in files if n <= upto)
        return {"files": active, "sealed": [upto, len(names), _digest(files, names)]}

    def pending(self, position: dict, limit: int | None = None) -> Pending:
        """Complete records appended since `position` (at most `limit`), reading only new bytes."""
        files = self._checked(position)
        known = position.get("files", {})
        total, end = 0, {}
        limit = limit or 2**62
        for name, st in sorted(files.items()):
            offset = known.get(name, [0, st.st_ino])[0]
            count, new_offset = 0, offset
            if st.st_size > offset and total < limit:
                count, new_offset = _end_of_complete_lines(
                    self.root / name, offset, st.st_size, limit - total
                )
            total += count
            end[name] = [new_offset, st.st_ino]
        return Pending(total, {**position, "files": end})

    def read_window(self, start: dict, end: dict) -> Iterator[dict]:
        """The records between two positions, in file-name then byte order."""
        self._checked(end)
        lo_of = start.get("files", {})
        for name, (hi, _) in sorted(end.get("files", {}).items()):
            lo = lo_of.get(name, [0, 0])[0]
            if hi <= lo:
                continue
            path = self.root / name
            with open(path, "rb") as f:
                f.seek(lo)
                pos = lo
                while pos < hi:
                    line = f.readline(hi - pos)
                    at = pos
                    pos += len(line)
                    if not line.strip():
                        continue
                    try:
                        rec = parse_line(line)
                    except JSONRuleError as e:
                        raise FeedError(f"{path}: byte {at}: not a JSON record: {e}") from None
                    if not isinstance(rec, dict):
                        raise FeedError(f"{path}: byte {at}: expected a JSON object")
                    yield rec

    def describe_window(self, start: dict, end: dict) -> dict:
        """Where a window lies, for tags and the UI."""
        lo, hi = start.get("files", {}), end.get("files", {})
        spans = {
            n: f"{lo.get(n, [0])[0]}-{hi[n][0]}" for n in sorted(hi) if hi[n][0] > lo.get(n, [0])[0]
        }
        return {"kind": "jsonl", "path": str(self.root), "byte_ranges": spans}
