"""The training side of the contamination detector: a vectorised pre-filter over raw JSONL bytes.

The scan never parses a training record unless the pre-filter says it may hold an eval n-gram
(or, for short eval records, a JSON string that hashes like one); those few candidate records
are then parsed and matched exactly on their configured fields. The pre-filter only ever
over-approximates: JSON escapes other than ``\\uXXXX`` decode to non-word characters, so they
are blanked in place; lines with ``\\u`` escapes or non-ASCII bytes (which need Unicode
normalisation) skip the pre-filter and are always parsed and matched exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import numpy as np

from verifily.contamination_index import EvalIndex, record_features
from verifily.contamination_text import (
    exact_key,
    ngram_hashes,
    prefix,
    span_hashes,
    token_bounds,
    token_hashes,
)

CHUNK_BYTES = 2 << 20  # measured: 2 MiB keeps the per-token arrays in cache
# Characters after a backslash that must be blanked: letters of \n \t \r \b \f would join the
# next word, an escaped quote would look like a string delimiter.
_ESCAPED = np.zeros(256, dtype=bool)
_ESCAPED[list(b'ntrbf"')] = True


def blank_escapes(buf: bytes) -> bytes:
    """`buf` with the character after each JSON escape backslash turned into a space.

    Outside `\\uXXXX` (whose lines take the exact path) every JSON escape decodes to a non-word
    character, so blanking keeps offsets and token boundaries. A backslash starts an escape
    when the run of backslashes it ends is odd (`\\\\n` is a backslash, then a letter n).
    """
    a = np.frombuffer(buf, dtype=np.uint8)
    bs = np.flatnonzero(a[:-1] == 92)
    bs = bs[_ESCAPED[a[bs + 1]]]
    if len(bs) == 0:
        return buf
    after_bs = bs[(bs > 0) & (a[np.maximum(bs - 1, 0)] == 92)]
    if len(after_bs):
        odd = []
        for p in after_bs.tolist():  # rare: a run of backslashes, count it
            q = p
            while q > 0 and buf[q - 1] == 92:
                q -= 1
            odd.append((p - q) % 2 == 0)
        drop = after_bs[~np.array(odd, dtype=bool)]
        bs = np.setdiff1d(bs, drop, assume_unique=True)
    out = a.copy()
    out[bs + 1] = 32
    return out.tobytes()


def read_line_chunks(path: str | os.PathLike, size: int | None = None) -> Iterator[bytes]:
    """Whole lines of a file in chunks of about `size` bytes (a longer line is one chunk)."""
    size = size or CHUNK_BYTES
    pending: list[bytes] = []  # pieces of a line longer than a chunk, joined once at its end
    with open(path, "rb") as f:
        while block := f.read(size):
            cut = block.rfind(b"\n")
            if cut < 0:
                pending.append(block)
                continue
            view = memoryview(block)
            pending.append(view[: cut + 1])
            yield b"".join(pending)  # the one copy per chunk
            pending = [view[cut + 1 :]]
    tail = b"".join(pending)
    if tail:
        yield tail + b"\n"


def line_ends(a: np.ndarray) -> np.ndarray:
    """Offsets of the newline ending each line of a chunk (every chunk ends with one)."""
    return np.flatnonzero(a == 10)


def candidate_lines(chunk: bytes, index: EvalIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lines that may hold eval text, lines the byte scan cannot judge, newline offsets)."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    ends = line_ends(a)
    slow = np.zeros(0, dtype=np.int64)
    buf = chunk
    # memchr for a backslash is ~15x faster than searching for the two bytes "\u" directly.
    escaped = b"\\" in chunk
    if not chunk.isascii() or (escaped and b"\\u" in chunk):
        odd = np.flatnonzero(a >= 0x80)
        if escaped:  # \uXXXX escapes (an escaped backslash before a "u" only costs a parse)
            bs = np.flatnonzero(a[:-1] == 92)
            odd = np.concatenate([odd, bs[a[bs + 1] == 117]])
        slow = np.unique(np.searchsorted(ends, odd))
        blank = bytearray(chunk)
        view = np.frombuffer(blank, dtype=np.uint8)
        line_start = np.concatenate([[0], ends[:-1] + 1])
        for i in slow.tolist():
            view[line_start[i] : ends[i]] = 32
        buf = bytes(blank)
    if escaped:
        buf = blank_escapes(buf)
    buf = buf.lower()
    starts, stops = token_bounds(buf)
    h = token_hashes(buf, starts, stops)
    hit_pos = index.lookup(ngram_hashes(h, index.n))
    cand = [np.searchsorted(ends, starts[hit_pos])]
    if len(index.short_hashes) and len(starts):
        q = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 34)
        q = q[: len(q) // 2 * 2]
        first = np.searchsorted(starts, q[0::2])
        stop = np.searchsorted(starts, q[1::2])
        keep = stop > first
        first, stop, opening = first[keep], stop[keep], q[0::2][keep]
        if len(first):
            sh = span_hashes(prefix(h), first, stop)
            pos = np.minimum(np.searchsorted(index.short_hashes, sh), len(index.short_hashes) - 1)
            cand.append(np.searchsorted(ends, opening[index.short_hashes[pos] == sh]))
    return np.unique(np.concatenate(cand)), slow, ends


class TrainMatcher:
    """Matches parsed training records exactly against the index and records every match."""

    def __init__(self, index: EvalIndex, is_train: Callable[[dict], bool]):
        self.index = index
        self.is_train = is_train
        self.parsed = 0

    def check_line(self, line: bytes, lineno: int) -> None:
        """Parse one training line and record which eval records it contains."""
        self.parsed += 1
        try:
            rec = json.loads(line)
        except ValueError:
            return  # verified artifacts have none; an unverified file's bad line holds nothing
        if not isinstance(rec, dict) or not self.is_train(rec):
            return
        rid = rec.get("id", f"line {lineno}")
        norms, grams, _ = record_features(rec, self.index.fields, self.index.n)
        for i in self.index.by_key.get(exact_key(norms), []):
            self.index.entries[i].exact_train_ids.append(rid)
        if any(len(g) for g in grams):
            for i, count in self.index.match(np.concatenate(grams)).items():
                self.index.entries[i].train_ngram_counts[rid] = count


def scan_training(
    path: str | os.PathLike,
    matcher: TrainMatcher,
    progress: Callable[[int], None] | None = None,
    chunk_bytes: int | None = None,
) -> dict:
    """Stream the training file past the index; return scan statistics."""
    lineno = 0
    size = 0
    for chunk in read_line_chunks(path, chunk_bytes):
        cand, slow, ends = candidate_lines(chunk, matcher.index)
        for i in np.union1d(cand, slow).tolist():
            if i < len(ends):
                line = chunk[ends[i - 1] + 1 if i else 0 : ends[i]]
                if line.strip():
                    matcher.check_line(line, lineno + i + 1)
        lineno += len(ends)
        size += len(chunk)
        if progress:
            progress(len(chunk))
    return {"lines": lineno, "bytes": size, "parsed": matcher.parsed}
