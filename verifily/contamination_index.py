"""The evaluation side of the contamination detector: every eval n-gram, indexed for lookup.

Memory is what bounds the whole detector: training text is streamed past this index and never
kept. Per distinct eval n-gram the index holds its hash (8 bytes), its owner list (4 bytes per
owning record) and the per-record list (4 bytes + a 1-byte hit flag), plus a one-bit-per-slot
pre-filter table of at most 16 slots per n-gram (two such tables, each capped
at 8 MiB): about 40 bytes per eval
n-gram in all, so 10k eval records of 200 words (~2M n-grams) take ~80 MB.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from verifily.contamination_text import (
    exact_key,
    field_text,
    ngram_hashes,
    normalise,
    prefix,
    span_hashes,
    text_token_hashes,
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
        short_hash: list[int] = []
        short_owner: list[int] = []
        per_record: list[np.ndarray] = []
        for rid, rec in records:
            i = len(self.entries)
            norms, grams, toks = record_features(rec, fields, n)
            entry = EvalEntry(id=rid, key=exact_key(norms), short=False)
            self.entries.append(entry)
            all_grams = np.unique(np.concatenate(grams)) if grams else np.zeros(0, np.uint64)
            per_record.append(all_grams)
            text_fields = [
                j for j, f in enumerate(fields) if isinstance(rec.get(f), str) and len(toks[j])
            ]
            if not any(len(t) for t in toks):
                entry.skipped = f"no text in fields {', '.join(fields)} (empty after normalisation)"
                continue
            self.by_key.setdefault(entry.key, []).append(i)
            if len(all_grams) == 0:
                entry.short = True
                if not text_fields:
                    entry.skipped = (
                        "shorter than n tokens and no string field to match exactly "
                        "(only numbers or booleans)"
                    )
                    continue
                # The longest string field is what the byte scan looks for inside JSON strings.
                j = max(text_fields, key=lambda k: len(toks[k]))
                g = prefix(toks[j])
                key_hash = span_hashes(g, np.array([0]), np.array([len(toks[j])]))[0]
                short_hash.append(int(key_hash))
                short_owner.append(i)
        self._build_ngrams(per_record)
        order = np.argsort(np.array(short_hash, dtype=np.uint64), kind="stable")
        self.short_hashes = np.array(short_hash, dtype=np.uint64)[order]
        self.short_owners = np.array(short_owner, dtype=np.int64)[order]

    def _build_ngrams(self, per_record: list[np.ndarray]) -> None:
        lens = np.array([len(g) for g in per_record], dtype=np.int64)
        flat = np.concatenate(per_record) if per_record else np.zeros(0, np.uint64)
        rec_of = np.repeat(np.arange(len(per_record), dtype=np.int64), lens)
        self.uniq, inverse = np.unique(flat, return_inverse=True)
        # Per record: indices into uniq (CSR); per uniq n-gram: owning records (CSR).
        self.rec_off = np.concatenate([[0], np.cumsum(lens)])
        self.rec_grams = inverse.astype(np.int32)
        order = np.argsort(inverse, kind="stable")
        self.owners = rec_of[order].astype(np.int32)
        self.owner_off = np.searchsorted(inverse[order], np.arange(len(self.uniq) + 1))
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
        arrays = (self.uniq, self.rec_off, self.rec_grams, self.owners, self.owner_off)
        return sum(a.nbytes for a in (*arrays, self.hit, self.table, self.table2))

    def lookup(self, grams: np.ndarray) -> np.ndarray:
        """Positions in `grams` whose hash is an eval n-gram (pre-filter table, then exact)."""
        if len(self.uniq) == 0 or len(grams) == 0:
            return np.zeros(0, dtype=np.int64)
        slot = (grams >> self.shift).astype(np.intp)
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
        counts = np.diff(self.owner_off)[found]
        starts = self.owner_off[found]
        idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        recs, n = np.unique(self.owners[idx], return_counts=True)
        return dict(zip(recs.tolist(), n.tolist(), strict=True))

    def matched_of(self, i: int) -> tuple[int, int]:
        """(distinct n-grams of eval record i found anywhere in training, its distinct total)."""
        grams = self.rec_grams[self.rec_off[i] : self.rec_off[i + 1]]
        return int(self.hit[grams].sum()), len(grams)
