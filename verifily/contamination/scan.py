"""The training side of the contamination detector: a vectorised pre-filter over raw JSONL bytes.

The scan never parses a training record unless the pre-filter says it may hold an eval n-gram
(or, for short eval records, a JSON string that hashes like one); those few candidate records
are then parsed and matched exactly on their configured fields. The pre-filter only ever
over-approximates: JSON escapes other than ``\\uXXXX`` decode to non-word characters, so they
are blanked in place; a chunk with non-ASCII text, or an ASCII chunk with ``\\uXXXX``
escapes, is decoded and Unicode-normalised as a whole first. Lines the byte scan still cannot
judge (``\\uXXXX`` next to raw UTF-8, or text whose normalisation folds into JSON syntax) are
parsed, normalised and pre-filtered together, a slower path.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator

import numpy as np

from verifily.contamination.index import EvalIndex, record_features
from verifily.contamination.text import (
    exact_key,
    field_text,
    ngram_hashes,
    normalise,
    prefix,
    span_hashes,
    token_bounds,
    token_hashes,
)
from verifily.fsutil import open_regular

_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")
CHUNK_BYTES = 2 << 20  # measured: 2 MiB keeps the per-token arrays in cache
# Characters after a backslash that are blanked: letters of \n \t \r \b \f would join the next
# word, an escaped quote would look like a string delimiter (the others are for `whole`).
_ESCAPED = np.zeros(256, dtype=bool)
_ESCAPED[list(b'ntrbf"/\\')] = True


def blank_escapes(buf: bytes, whole: bool = False) -> bytes:
    """`buf` with the character after each JSON escape backslash (and with `whole`, the
    backslash too, leaving only `\\uXXXX`) turned into a space.

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
    if whole:
        out[bs] = 32
    return out.tobytes()


def read_line_chunks(path: str | os.PathLike, size: int | None = None) -> Iterator[bytes]:
    """Whole lines of a file in chunks of about `size` bytes (a longer line is one chunk)."""
    size = size or CHUNK_BYTES
    pending: list[
        bytes | memoryview
    ] = []  # pieces of a line longer than a chunk, joined once at its end
    with open_regular(path) as f:
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


def unicode_fold(chunk: bytes) -> bytes | None:
    """A non-ASCII chunk with the normalisation applied to all of it at once, or None.

    NFKC, casefold, NFKC (as `normalise` does per field), then every non-ASCII character that
    is not a word character becomes a space; ASCII is left to the byte scan. Lines keep their
    order and count. None when the chunk is not UTF-8, or when normalising created JSON
    structure (a fullwidth quote or backslash folds to an ASCII one): those lines are then
    parsed one by one instead.
    """
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError:
        return None
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    out = _NON_ASCII_NON_WORD.sub(" ", folded).encode("utf-8")
    if any(out.count(c) != chunk.count(c) for c in (b"\n", b'"', b"\\")):
        return None
    return out


def unicode_unescape(chunk: bytes) -> bytes | None:
    """An ASCII chunk written with `\\uXXXX` escapes, decoded and normalised, or None.

    Every other escape is blanked first (all decode to non-word characters), so what
    `unicode_escape` decodes is only `\\uXXXX`; surrogate halves are non-word characters here
    just as the emoji they form are after parsing. None when decoding fails or creates JSON
    structure (an escaped quote or newline written as `\\u0022`, `\\u000a`).
    """
    blanked = blank_escapes(chunk, whole=True)
    try:
        text = blanked.decode("unicode_escape")
    except UnicodeDecodeError:
        return None
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    out = _NON_ASCII_NON_WORD.sub(" ", folded).encode("utf-8")
    if any(out.count(c) != blanked.count(c) for c in (b"\n", b'"')):
        return None
    return out


def candidate_lines(chunk: bytes, index: EvalIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lines that may hold eval text, lines the byte scan cannot judge, newline offsets)."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    ends = line_ends(a)
    slow = np.zeros(0, dtype=np.int64)
    # memchr for a backslash is ~15x faster than searching for the two bytes "\u" directly.
    escaped = b"\\" in chunk
    buf, buf_ends = chunk, ends
    needs_fold = not chunk.isascii()
    if escaped and b"\\u" in chunk:
        decoded = None if needs_fold else unicode_unescape(chunk)
        if decoded is not None:
            buf, escaped = decoded, False
            buf_ends = line_ends(np.frombuffer(buf, dtype=np.uint8))
        else:  # lines with \uXXXX escapes (after an escaped backslash: merely parsed)
            bs = np.flatnonzero(a[:-1] == 92)
            slow = np.unique(np.searchsorted(ends, bs[a[bs + 1] == 117]))
    if needs_fold:
        # Escapes are blanked before normalising: NFKC would otherwise compose an escape's
        # letter with a combining mark after it (`\n` + U+0301 -> `\ń`), gluing the mark's
        # word onto it where a parser sees a newline and a separate token.
        folded = unicode_fold(blank_escapes(chunk) if escaped else chunk)
        if folded is None:
            slow = np.union1d(slow, np.searchsorted(ends, np.flatnonzero(a >= 0x80)))
        else:
            buf, escaped = folded, False
            buf_ends = line_ends(np.frombuffer(buf, dtype=np.uint8))
    if len(slow):
        blank = bytearray(buf)
        view = np.frombuffer(blank, dtype=np.uint8)
        line_start = np.concatenate([[0], buf_ends[:-1] + 1])
        for i in slow.tolist():
            view[line_start[i] : buf_ends[i]] = 32
        buf = bytes(blank)
    if escaped:
        buf = blank_escapes(buf)
    buf = buf.lower()
    starts, stops = token_bounds(buf)
    h = token_hashes(buf, starts, stops)
    hit_pos = index.lookup(ngram_hashes(h, index.n))
    cand = [np.searchsorted(buf_ends, starts[hit_pos])]
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
            cand.append(np.searchsorted(buf_ends, opening[index.short_hashes[pos] == sh]))
    return np.unique(np.concatenate(cand)), slow, ends


class TrainMatcher:
    """Matches parsed training records exactly against the index and records every match."""

    def __init__(self, index: EvalIndex, is_train: Callable[[dict], bool]):
        self.index = index
        self.is_train = is_train
        self.parsed = 0

    def _parse(self, line: bytes, lineno: int) -> tuple[dict, object] | None:
        self.parsed += 1
        try:
            rec = json.loads(line)
        except ValueError:
            return None  # verified artifacts have none; an unverified file's bad line holds nothing
        if not isinstance(rec, dict) or not self.is_train(rec):
            return None
        return rec, rec.get("id", f"line {lineno}")

    def _match(self, rec: dict, rid: object, exact: bool = True) -> None:
        norms, grams, _ = record_features(rec, self.index.fields, self.index.n)
        if exact:
            for i in self.index.by_key.get(exact_key(norms), []):
                self.index.entries[i].exact_train_ids.append(rid)
        if any(len(g) for g in grams):
            for i, count in self.index.match(np.concatenate(grams)).items():
                self.index.entries[i].train_ngram_counts[rid] = count

    def check_line(self, line: bytes, lineno: int) -> None:
        """Parse one training line and record which eval records it contains."""
        parsed = self._parse(line, lineno)
        if parsed:
            self._match(*parsed)

    def check_lines(self, lines: list[tuple[bytes, int]]) -> None:
        """Like check_line for many lines, with one vectorised pre-filter over all of them.

        For lines the byte scan cannot judge (non-ASCII text, \\uXXXX escapes): each is parsed
        and normalised, then their fields are hashed together and only records holding an
        eval n-gram are matched one by one; exact matches are looked up by key for all.
        """
        fields = self.index.fields
        recs, encoded = [], []
        for line, lineno in lines:
            parsed = self._parse(line, lineno)
            if parsed is None:
                continue
            rec, rid = parsed
            norms = [normalise(field_text(rec.get(f))) for f in fields]
            for i in self.index.by_key.get(exact_key(norms), []):
                self.index.entries[i].exact_train_ids.append(rid)
            recs.append(parsed)
            encoded += [t.encode("utf-8") for t in norms]
        if not recs or not len(self.index.uniq):
            return
        sizes = np.array([len(e) + 1 for e in encoded], dtype=np.int64)
        field_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        buf = b"\n".join(encoded)
        starts, ends = token_bounds(buf)
        hits = self.index.lookup(ngram_hashes(token_hashes(buf, starts, ends), self.index.n))
        fields_hit = np.searchsorted(field_start, starts[hits], side="right") - 1
        for r in np.unique(fields_hit // len(fields)).tolist():
            self._match(*recs[r], exact=False)


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
        starts = np.concatenate([[0], ends[:-1] + 1]).tolist()
        stops = ends.tolist()
        for i in np.setdiff1d(cand, slow).tolist():
            if i < len(stops) and chunk[starts[i] : stops[i]].strip():
                matcher.check_line(chunk[starts[i] : stops[i]], lineno + i + 1)
        batch = [(chunk[starts[i] : stops[i]], lineno + i + 1) for i in slow.tolist()]
        matcher.check_lines([(b, n) for b, n in batch if b.strip()])
        lineno += len(ends)
        size += len(chunk)
        if progress:
            progress(len(chunk))
    return {"lines": lineno, "bytes": size, "parsed": matcher.parsed}
