"""The one strict reading of outside JSON: every rule names its problem, the fast path reads
exactly what the slow one does, and no byte string escapes as another kind of exception."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifily.strictjson import MAX_DEPTH, JSONRuleError, fast_parse_line, parse_line

DEEP = b'{"input": "a", "output": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"


@pytest.mark.parametrize(
    "line, problem",
    [
        (DEEP, f"nested deeper than {MAX_DEPTH} levels"),
        (b'{"a": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}", "nested deeper"),
        (b'{"input": "a", "output": NaN}', "NaN is not a JSON number"),
        (b'{"input": "a", "output": Infinity}', "Infinity is not a JSON number"),
        (b'{"input": "a", "output": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"input": "a", "output": 1e999}', "too large"),
        (b'{"input": "a", "output": 1, "output": 2}', "duplicate key 'output'"),
        (b'{"input": "a", "meta": {"k": 1, "k": 2}}', "duplicate key 'k'"),
        (b'{"input": "a" , "input" : "b"}', "duplicate key 'input'"),
        (b'{"input": "\\ud800", "output": 1}', "lone surrogate"),
        (b"", "blank line"),
        (b"   \t\r\n", "blank line"),
        (b'{"input": "\xc3\x28"}', "invalid UTF-8 at byte 11"),
        (b'{"input": "a", "output": }', "malformed JSON"),
    ],
)
def test_each_rule_says_what_is_wrong(line, problem):
    with pytest.raises(JSONRuleError, match=problem):
        parse_line(line)
    assert fast_parse_line(line.rstrip(b"\n")) is None


def test_nesting_right_at_the_limit_is_fine_and_brackets_in_strings_do_not_count():
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_line(ok) == parse_line(ok)  # parses, no error
    in_string = b'{"input": "' + b"[" * 5000 + b'", "output": 1}'
    assert parse_line(in_string)["output"] == 1
    assert fast_parse_line(in_string) == parse_line(in_string)


def test_crlf_line_endings_read_as_the_same_record():
    lf, crlf = b'{"input": "a", "output": 1}\n', b'{"input": "a", "output": 1}\r\n'
    assert parse_line(crlf) == parse_line(lf) == {"input": "a", "output": 1}
    assert fast_parse_line(crlf.rstrip(b"\n")) == {"input": "a", "output": 1}


def test_a_colon_inside_strings_or_escaped_quotes_never_hide_a_repeated_key():
    for line in (
        b'{"a": "x:y", "b": "p:q:r"}',
        b'{"a": "say \\":\\" twice", "b": 1}',
        b'{"k:": 1, "m": {"n": ":"}}',
    ):
        assert fast_parse_line(line) in (None, parse_line(line))
    for line in (
        b'{"a": "x:y", "a": "p"}',
        b'{"a":1,"a" :2}',
        b'{"a": "\\":", "a": 1}',
        b'[{"a": 1}, {"b": 1, "b": 1}]',
    ):
        assert fast_parse_line(line) is None
        with pytest.raises(JSONRuleError, match="duplicate key"):
            parse_line(line)


KEYS = st.sampled_from(["a", "b", "a:", ":", 'q"', "input", "\\"])
SPACE = st.sampled_from(["", "", "", " ", "\t", "\r", "  "])


@st.composite
def json_texts(draw, depth=0):
    """JSON text (mostly valid) with repeated keys, odd spacing, colons and escapes in
    strings, big and non-finite numbers: what the fast path must never misread."""
    kind = draw(st.sampled_from(["obj", "obj", "list", "str", "num", "lit"] if depth < 3 else
                                ["str", "num", "lit"]))  # fmt: skip
    if kind == "obj":
        pairs = draw(st.lists(st.tuples(KEYS, json_texts(depth + 1)), max_size=4))
        inner = ",".join(
            f"{draw(SPACE)}{json.dumps(k)}{draw(SPACE)}:{draw(SPACE)}{v}" for k, v in pairs
        )
        return "{" + inner + "}"
    if kind == "list":
        return "[" + ",".join(draw(st.lists(json_texts(depth + 1), max_size=3))) + "]"
    if kind == "str":
        return json.dumps(draw(st.text(alphabet='ab:"\\\u00e9\ud800\U0001f600 ', max_size=6)))
    if kind == "num":
        return draw(st.sampled_from(["1", "-0", "1.5", "1e999", "-1e999", "9" * 30, "NaN"]))
    return draw(st.sampled_from(["true", "false", "null", "Infinity", "-Infinity"]))


@settings(max_examples=600, deadline=None)
@given(json_texts())
def test_fast_path_reads_exactly_what_the_slow_path_reads(text):
    line = text.encode("utf-8", "surrogatepass")
    try:
        slow = parse_line(line)
    except JSONRuleError:
        slow = JSONRuleError
    fast = fast_parse_line(line)
    if fast is not None:
        assert slow is not JSONRuleError, f"fast path accepted what the rules refuse: {line!r}"
        # Integers beyond 64 bits are floats on the fast path; everything else is identical.
        assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True) or (
            "9" * 30 in text
        )


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200) | json_texts().map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_a_value_or_a_rule_error(line):
    try:
        parse_line(line)
    except JSONRuleError:
        pass
    fast_parse_line(line.replace(b"\n", b" "))
