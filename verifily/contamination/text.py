"""Text normalisation and vectorised token / n-gram hashing for the contamination detector.

Normalisation (the same for training and evaluation text):
  1. Unicode NFKC, then casefold, then NFKC again (NFKC_Casefold: "Ｆｏｏ", "FOO", "ﬁ" fold);
  2. every character that is not a word character (Python's Unicode ``\\w``: letters, digits,
     marks, underscore) is a separator, so punctuation and all whitespace are dropped;
  3. a token is a maximal run of word characters; the normalised text is the tokens joined by
     single spaces.
For ASCII text this is exactly: lowercase, tokens are runs of ``[a-z0-9_]``. The hashing below
works on bytes where every byte >= 0x80 counts as a word byte, which is exact for text that
was normalised first (non-word characters are already spaces) and for raw ASCII.

Token hashes are 64-bit mixes of the token's bytes (in 8-byte words) and its length; tokens
longer than 64 bytes are hashed with BLAKE2b. An n-gram hash is the polynomial
``sum(h[j + k] * P**k)`` mod 2**64, computed for every position at once from prefix sums.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

_NON_WORD = re.compile(r"\W+")
_ASCII_FOLD = bytes(
    c + 32 if 65 <= c <= 90 else c if c < 128 and (chr(c).isalnum() or c == 95) else 32
    for c in range(256)
)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_K2 = np.uint64(0x9E3779B97F4A7C15)
P = 0x100000001B3 * 2 + 1  # odd, so invertible mod 2**64 (needed to re-base prefix sums)
_P_INV = pow(P, -1, 1 << 64)
_ROUNDS = 8
_LEN_MASK = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def normalise(text: str) -> str:
    """The normalised form of `text`: NFKC_Casefold, punctuation and whitespace to one space."""
    if text.isascii():
        # Same result as the general path, through bytes.translate: ~50x faster than re.sub.
        return " ".join(text.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split())
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(_NON_WORD.sub(" ", folded).split())


def tokens(text: str) -> list[str]:
    """The word tokens of `text` after normalisation."""
    return normalise(text).split()


def field_text(value: object) -> str:
    """A field's value as text: strings as they are, numbers and booleans as JSON writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return ""


class _Powers:
    """P**i and P**-i mod 2**64, grown on demand and shared by every scan in the process."""

    def __init__(self) -> None:
        self.pow = np.ones(1, dtype=np.uint64)
        self.inv = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pow) < n:
            size = max(n, 2 * len(self.pow), 1 << 16)
            self.pow = _wrap_cumprod(P, size)
            self.inv = _wrap_cumprod(_P_INV, size)
        return self.pow[:n], self.inv[:n]


def _wrap_cumprod(base: int, size: int) -> np.ndarray:
    """[1, base, base**2, ...] mod 2**64 (numpy's uint64 cumprod wraps, which is what we want)."""
    out = np.full(size, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)


POWERS = _Powers()


def token_bounds(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end byte offsets of every token (run of word bytes) in lowercase `buf`."""
    a = np.frombuffer(buf, dtype=np.uint8)
    word = a >= 0x80
    word |= a - np.uint8(97) < np.uint8(26)
    word |= a - np.uint8(48) < np.uint8(10)
    word |= a == np.uint8(95)
    # Transitions of the word mask (as if padded with non-word): start, end, start, end, ...
    edges = np.flatnonzero(word[1:] != word[:-1])
    edges += 1
    if len(word) and word[0]:
        edges = np.concatenate([[0], edges])
    if len(word) and word[-1]:
        edges = np.concatenate([edges, [len(word)]])
    return edges[0::2], edges[1::2]


def token_hashes(buf: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit hash per token; `buf` must already be lowercase (normalised or ASCII-lowered)."""
    if len(starts) == 0:
        return np.zeros(0, dtype=np.uint64)
    if ends[-1] + 7 > len(buf):
        buf = buf + bytes(8)  # the 8-byte reads below must stay inside the buffer
    words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    length = ends - starts
    with np.errstate(over="ignore"):
        x = words[starts] & _LEN_MASK[np.minimum(length, 8)]
        x += length.view(np.uint64)
        x *= _K2
        x ^= x >> np.uint64(29)
        x *= _M1
        x ^= x >> np.uint64(32)
        # Tokens longer than 8 bytes: fold in each further 8-byte word (vectorised up to 64
        # bytes); beyond that BLAKE2b, one token at a time (rare: URLs, base64, digests).
        for k in range(1, _ROUNDS):
            sel = np.flatnonzero(length > 8 * k)
            if len(sel) == 0:
                break
            w = words[starts[sel] + 8 * k] & _LEN_MASK[np.minimum(length[sel] - 8 * k, 8)]
            y = x[sel] ^ (w * _M2)
            y ^= y >> np.uint64(29)
            y *= _M1
            y ^= y >> np.uint64(32)
            x[sel] = y
    huge = np.flatnonzero(length > 8 * _ROUNDS)
    if len(huge):
        x[huge] = [
            int.from_bytes(hashlib.blake2b(buf[starts[i] : ends[i]], digest_size=8).digest())
            for i in huge.tolist()
        ]
    return x


def prefix(hashes: np.ndarray) -> np.ndarray:
    """G with G[0] = 0 and G[i + 1] = G[i] + h[i] * P**i (mod 2**64)."""
    pw, _ = POWERS.upto(len(hashes))
    g = np.empty(len(hashes) + 1, dtype=np.uint64)
    g[0] = 0
    with np.errstate(over="ignore"):
        np.cumsum(hashes * pw, out=g[1:])
    return g


def span_hashes(g: np.ndarray, first: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Hash of tokens [first, stop) for every span, re-based so it does not depend on position."""
    _, inv = POWERS.upto(int(first.max()) + 1 if len(first) else 1)
    with np.errstate(over="ignore"):
        return (g[stop] - g[first]) * inv[first]


def ngram_hashes(hashes: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-gram of consecutive tokens (empty when there are fewer than n tokens)."""
    count = len(hashes) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    g = prefix(hashes)
    _, inv = POWERS.upto(count)
    with np.errstate(over="ignore"):
        return (g[n : n + count] - g[:count]) * inv


def text_token_hashes(normalised: str) -> np.ndarray:
    """Token hashes of already-normalised text."""
    buf = normalised.encode("utf-8")
    starts, ends = token_bounds(buf)
    return token_hashes(buf, starts, ends)


def exact_key(normalised_fields: list[str]) -> bytes:
    """Identity of a record's normalised text over its fields, for exact matching."""
    h = hashlib.blake2b(digest_size=16)
    for f in normalised_fields:
        b = f.encode("utf-8")
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.digest()
