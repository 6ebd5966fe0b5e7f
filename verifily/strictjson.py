"""The one reading of JSON that arrives from outside: JSONL lines of datasets, feeds and eval
files, and HTTP request bodies.

Python's json module accepts more than RFC 8259 JSON and fails in ways a caller cannot name:
`NaN`/`Infinity` and numbers that overflow to infinity, duplicate keys (the last one silently
wins), escapes that decode to lone surrogates (which later fail to encode), and nesting deep
enough to raise RecursionError at a depth that depends on the caller's stack. Here each of
those is an error saying what is wrong, at a fixed depth limit, so every reader accepts and
refuses exactly the same lines.

A line may end in CRLF: `\\r` is JSON whitespace, so the record is the same as with LF (the
file's hash still covers the bytes as they are). A blank or whitespace-only line is an error.
"""

from __future__ import annotations

import json
import math
import re

from orjson import JSONDecodeError as _OrjsonError
from orjson import loads as _orjson_loads

# Deeper than any record anyone writes by hand or by tool; far below the interpreter's
# recursion limit wherever the parser runs (a Dagster step, a request handler).
MAX_DEPTH = 100
# Structural characters and whole strings (escapes included): what nesting is counted over.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JSONRuleError(ValueError):
    """A text that is not JSON by our rules; the message says what is wrong (no location:
    the caller adds the file and line or the field)."""


def too_deep(data: bytes) -> bool:
    """Whether arrays and objects nest more than MAX_DEPTH levels in `data` (brackets inside
    strings do not count). Two byte counts decide almost every text without a scan."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    for m in _TOKENS.finditer(data):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif c in (b"]", b"}"):
            depth -= 1
    return False


def _no_constants(name: str) -> object:
    raise JSONRuleError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JSONRuleError(f"number {text[:40]} is too large (it would be infinite)")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONRuleError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _check_unicode(value: object) -> None:
    """Every string (keys included) is valid Unicode: no lone surrogates from `\\ud800` escapes."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONRuleError(f"string {v[:40]!r} holds a lone surrogate escape") from None
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def loads(data: bytes) -> object:
    """Parse one JSON text by the rules above; raises JSONRuleError saying what is wrong."""
    raw = bytes(data)
    if too_deep(raw):
        raise JSONRuleError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JSONRuleError(f"invalid UTF-8 at byte {e.start} of the line") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constants,
            parse_float=_finite,
        )
    except JSONRuleError:
        raise
    except RecursionError:  # cannot happen below MAX_DEPTH; kept so no caller ever sees one
        raise JSONRuleError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:
        msg, col = getattr(e, "msg", str(e)), getattr(e, "colno", None)
        where = f" at column {col}" if col else ""
        raise JSONRuleError(f"malformed JSON: {msg}{where}") from None
    if "\\u" in text:  # only an escape can make a lone surrogate: UTF-8 decoding refuses them
        _check_unicode(value)
    return value


def parse_line(line: bytes) -> object:
    """One JSONL line (its newline may be left on): the JSON value it holds."""
    if not line.strip():
        raise JSONRuleError("blank line (every line must hold one JSON record)")
    return loads(line)


# A key ends in '"', optional whitespace and ':' (lines hold no LF). data.count(b'":') finds
# the compact ones at C speed; this finds the rest.
_KEY_END_SPACED = re.compile(rb'"[ \t\r]+:')


def _key_ends(data: bytes) -> int:
    """Upper bound on the object members written in `data`: every member's key ends in a match,
    and only a `\\"` inside a string can add one that is not a key."""
    return data.count(b'":') + len(_KEY_END_SPACED.findall(data))


def _members(value: object) -> int:
    """Object members in a parsed value, nested ones included."""
    n = 0
    if type(value) is dict:
        n = len(value)
        for v in value.values():
            if type(v) is dict or type(v) is list:
                n += _members(v)
    elif type(value) is list:
        for v in value:
            if type(v) is dict or type(v) is list:
                n += _members(v)
    return n


def fast_parse_line(line: bytes) -> object | None:
    """orjson's reading of a line (without its newline) when it is provably what `parse_line`
    gives; None when the slow, authoritative path must decide.

    orjson itself refuses NaN, infinities, lone surrogates, invalid UTF-8 and blank lines,
    but nests up to 1024 levels (so nesting is counted first) and lets a repeated key win
    silently. Repeats are found by counting: every member's key ends in '"', whitespace and
    ':', so a line has at least as many key ends as members, and more than orjson kept means
    a repeated key (or an escaped quote before a colon inside a string, which the slow path
    then settles). Integers beyond 64 bits come back as floats here; callers that care check
    the type.
    """
    # Each level of nesting takes two bytes, so only a long line can be too deep; an escape
    # may decode to a lone surrogate, which the slow path checks.
    if b"\\u" in line or (len(line) > 2 * MAX_DEPTH and too_deep(line)):
        return None
    try:
        value = _orjson_loads(line)
    except _OrjsonError:
        return None
    if type(value) is dict and line.find(b"{", 1) < 0 and b"[" not in line:
        members = len(value)  # a flat object, the usual record
    else:
        members = _members(value)
    compact = line.count(b'":')
    if compact == members and b'" ' not in line and b'"\t' not in line and b'"\r' not in line:
        return value  # every key end is a compact one and there are as many as members
    return value if _key_ends(line) == members else None
