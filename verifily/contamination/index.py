"""The evaluation side of the contamination detector: every eval n-gram, indexed for lookup.

Memory is what bounds the whole detector: training text is streamed past this index and never
kept. Per distinct eval n-gram the index holds its hash (8 bytes), its owners (4 bytes per
owning record, 8 bytes of offset) and a hit flag (1 byte), plus two one-bit-per-slot
pre-filter tables of 16 slots per n-gram (each capped at 8 MiB): about 30 bytes per eval
n-gram, so 10k eval records of ~120 words (1.1M n-grams) take ~31 MB.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from verifily.contamination.text import (
    exact_key,
    field_text,
    ngram_hashes,
    normalise,
    prefix,
    span_hashes,
    text_token_hashes,
    token_bounds,
    token_hashes,
)

_MAX_TABLE_BITS = 26


@dataclass
class EvalEntry:
    """One eval record: its id, how it is matched, and what is known so far."""

    id: object
    key: bytes
    short: bool
    skipped: str | None = None
    exact_train_ids: list = field(default_factory=list)
    train_ngram_counts: dict = field(default_factory=dict)


def record_features(rec: dict, fields: tuple[str, ...], n: int):
    """(normalised field texts, n-gram hashes per field, token hashes per field) of a record."""
    norms, grams, toks = [], [], []
    for f in fields:
        text = normalise(field_text(rec.get(f)))
        h = text_token_hashes(text)
        norms.append(text)
        toks.append(h)
        grams.append(ngram_hashes(h, n))
    return norms, grams, toks


class EvalIndex:
    """Every eval record's n-grams (or, for short records, its whole-field hash) for lookup."""

    def __init__(self, records: Iterable[tuple[object, dict]], fields: tuple[str, ...], n: int):
        self.fields, self.n = fields, n
        self.entries: list[EvalEntry] = []
        self.by_key: dict[bytes, list[int]] = {}
        width = len(fields)
        encoded: list[bytes] = []
        is_str: list[bool] = []
        for rid, rec in records:
            norms = [normalise(field_text(rec.get(f))) for f in fields]
            self.entries.append(EvalEntry(id=rid, key=exact_key(norms), short=False))
            encoded += [t.encode("utf-8") for t in norms]
            is_str += [isinstance(rec.get(f), str) for f in fields]
        # All fields of all records in one buffer, hashed in one vectorised pass; "\n" is not a
        # word byte, so it separates fields, and n-grams that would span two fields are dropped.
        sizes = np.array([len(e) + 1 for e in encoded], dtype=np.int64)
        field_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        buf = b"\n".join(encoded)
        starts, ends = token_bounds(buf)
        toks = token_hashes(buf, starts, ends)
        field_of = np.searchsorted(field_start, starts, side="right") - 1
        tok_count = np.bincount(field_of, minlength=len(encoded))
        first_tok = np.concatenate([[0], np.cumsum(tok_count)[:-1]]).astype(np.int64)
        grams = ngram_hashes(toks, n)
        valid = field_of[: len(grams)] == field_of[n - 1 :][: len(grams)]
        grams, rec_of = grams[valid], field_of[: len(valid)][valid] // max(width, 1)
        self._build_ngrams(grams, rec_of)
        self.gram_total = np.bincount(self.owners, minlength=len(self.entries))
        has_text = np.any(tok_count.reshape(-1, width), axis=1).tolist() if width else []
        short_fields = []
        for i, entry in enumerate(self.entries):
            if not has_text[i]:
                entry.skipped = f"no text in fields {', '.join(fields)} (empty after normalisation)"
                continue
            self.by_key.setdefault(entry.key, []).append(i)
            if self.gram_total[i] == 0:
                entry.short = True
                counts = tok_count[i * width : (i + 1) * width].tolist()
                text = [j for j in range(width) if is_str[i * width + j] and counts[j]]
                if not text:
                    entry.skipped = (
                        "shorter than n tokens and no string field to match exactly "
                        "(only numbers or booleans)"
                    )
                    continue
                # The longest string field is what the byte scan looks for inside JSON strings.
                short_fields.append(i * width + max(text, key=lambda j: counts[j]))
        sf = np.array(short_fields, dtype=np.int64)
        key_hashes = span_hashes(prefix(toks), first_tok[sf], first_tok[sf] + tok_count[sf])
        self.short_hashes = np.sort(key_hashes) if len(sf) else np.zeros(0, np.uint64)

    def _build_ngrams(self, grams: np.ndarray, rec_of: np.ndarray) -> None:
        """Distinct n-grams and, per n-gram, its owning records (CSR), with one fast sort.

        Only n-grams held more than once (shared by records, or repeated inside one) need
        their owners ordered too, so a record that repeats an n-gram is listed once.
        """
        order = np.argsort(grams)  # unstable: numpy's SIMD sort, several times a stable one
        g, r = grams[order], rec_of[order]
        same = g[1:] == g[:-1]
        if same.any():
            shared = np.zeros(len(g), dtype=bool)
            shared[1:] |= same
            shared[:-1] |= same
            idx = np.flatnonzero(shared)
            r[idx] = r[idx][np.lexsort((r[idx], g[idx]))]
        new = np.ones(len(g), dtype=bool)
        new[1:] = g[1:] != g[:-1]
        keep = new.copy()
        keep[1:] |= r[1:] != r[:-1]
        g, r, new = g[keep], r[keep], new[keep]
        group_start = np.flatnonzero(new)
        self.uniq = g[group_start]
        self.owners = r.astype(np.int32)
        self.owner_off = np.concatenate([group_start, [len(g)]]).astype(np.int64)
        self.hit = np.zeros(len(self.uniq), dtype=bool)
        bits = int(np.clip(np.ceil(np.log2(max(len(self.uniq), 1) * 16)), 10, _MAX_TABLE_BITS))
        self.shift = np.uint64(64 - bits)
        # One bit per slot: small enough to stay in cache, which is what makes lookups cheap.
        slots = (self.uniq >> self.shift).astype(np.intp)
        table = np.zeros(1 << bits, dtype=bool)
        table[slots] = True
        self.table = np.packbits(table, bitorder="little")
        # A second table on the low bits cuts what reaches the (cache-missing) binary search.
        self.mask = np.uint64((1 << bits) - 1)
        table[:] = False
        table[(self.uniq & self.mask).astype(np.intp)] = True
        self.table2 = np.packbits(table, bitorder="little")

    @property
    def ngram_count(self) -> int:
        """Distinct eval n-grams held."""
        return len(self.uniq)

    def nbytes(self) -> int:
        """Bytes held by the index arrays (the detector's memory bound, without the chunk)."""
        arrays = (self.uniq, self.owners, self.owner_off, self.gram_total)
        return sum(a.nbytes for a in (*arrays, self.hit, self.table, self.table2))

    def lookup(self, grams: np.ndarray) -> np.ndarray:
        """Positions in `grams` whose hash is an eval n-gram (pre-filter table, then exact)."""
        if len(self.uniq) == 0 or len(grams) == 0:
            return np.zeros(0, dtype=np.int64)
        # Slots are < 2**26, so viewing them as signed is exact and saves a copy.
        slot = (grams >> self.shift).view(np.int64)
        maybe = np.flatnonzero((self.table[slot >> 3] >> (slot & 7).astype(np.uint8)) & 1)
        if len(maybe) == 0:
            return maybe
        slot = (grams[maybe] & self.mask).astype(np.intp)
        maybe = maybe[((self.table2[slot >> 3] >> (slot & 7).astype(np.uint8)) & 1).astype(bool)]
        cand = grams[maybe]
        pos = np.minimum(np.searchsorted(self.uniq, cand), len(self.uniq) - 1)
        return maybe[self.uniq[pos] == cand]

    def match(self, train_grams: np.ndarray) -> dict[int, int]:
        """Mark the eval n-grams found in one training record; {eval index: n-grams matched}."""
        if len(self.uniq) == 0 or len(train_grams) == 0:
            return {}
        g = np.unique(train_grams)
        pos = np.minimum(np.searchsorted(self.uniq, g), len(self.uniq) - 1)
        found = pos[self.uniq[pos] == g]
        if len(found) == 0:
            return {}
        self.hit[found] = True
        recs, n = np.unique(self.owners[_expand(self.owner_off, found)], return_counts=True)
        return dict(zip(recs.tolist(), n.tolist(), strict=True))

    def matched_counts(self) -> np.ndarray:
        """Per eval record: its distinct n-grams found anywhere in the training data so far."""
        found = np.flatnonzero(self.hit)
        return np.bincount(self.owners[_expand(self.owner_off, found)], minlength=len(self.entries))


def _expand(off: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions of every element of the given CSR rows, concatenated."""
    counts = off[rows + 1] - off[rows]
    starts = off[rows]
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
