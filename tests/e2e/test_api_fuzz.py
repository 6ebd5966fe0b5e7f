"""Property-based fuzzing of the OpenAPI document (schemathesis): no input yields a 5xx.

The stack has no daemon: fuzzed queued jobs are accepted and stay QUEUED instead of launching a
hundred run workers on two cores.
"""

import json
from urllib.parse import quote, urlencode

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.support.api_servers import make_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api_fuzz")
    models = tmp / "models.yaml"
    models.write_text("models:\n  - id: iris-model\n    dataset_dir: data/iris\n")
    s = make_stack(tmp, daemon=False, api_env={"VERIFILY_MODELS_CONFIG": str(models)})
    yield schemathesis.openapi.from_url(f"{s.api_url}/openapi.json")
    s.stop()


def test_no_server_errors(api_schema):
    """Every operation, 30 generated cases each (schemathesis' pytest plugin is not used: its
    lazy fixture loader does not work with this pytest)."""
    failures = []
    ops = [r.ok() for r in api_schema.get_all_operations()]
    assert len(ops) >= 9, [op.label for op in ops]
    for op in ops:

        @given(case=op.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            case.call_and_validate(checks=[not_a_server_error], timeout=60)

        try:
            fuzz()
        except Exception as e:  # collect every operation's failure, then report them all
            failures.append(f"{op.label}: {e}")
    assert not failures, "\n\n".join(failures)


# Values an attacker or an unlucky client puts in a field: JSON text spliced in raw, so NaN,
# overflowing and 5000-digit numbers, 10,000-deep nesting and lone surrogate escapes reach
# the server exactly as written.
RAW_VALUES = [
    b'"\\ud800"', b'"a\\udc00b"', b'"\\udfff\\ud800"', b'"\\u0000"', b'"%ED%A0%80"',
    b'"\\u202e../../etc"', b"1e400", b"-1e400", b"NaN", b"Infinity", b"-Infinity",
    b"9" * 5000, b"-0", b"18446744073709551616", b"[" * 10_000 + b"]" * 10_000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000, b'"' + b"x" * 70_000 + b'"', b"null", b"true",
    b"[]", b"{}", b'"\xf0\x9f\x98\x80"', b'"\xc3\x28"', b'"\xed\xa0\x80"',
]  # fmt: skip
ENCODINGS = ["utf-8", "utf-16", "utf-32", "latin-1", "utf-8-sig"]
HOSTILE_TEXT = st.text(
    alphabet=st.characters(categories=["Cs", "Lu", "Ll", "Nd", "Po", "Cc", "So"]), max_size=40
)


def _spliced(body: object, raw: bytes) -> bytes:
    """The JSON text of `body` with one field (or the whole body) replaced by `raw` bytes."""
    if isinstance(body, dict) and body:
        key = sorted(body)[0]
        text = json.dumps({**body, key: "\x00HOSTILE\x00"})
        return text.encode().replace(json.dumps("\x00HOSTILE\x00").encode(), raw)
    return raw


def hostile_request(case, raw: bytes, text: str, encoding: str, where: str) -> dict:
    """requests.request arguments for a generated case with one hostile change."""
    kw = case.as_transport_kwargs()
    params, body, data = dict(kw.get("params") or {}), kw.get("json"), None
    url = kw["url"]
    if where == "path":
        url = url.rstrip("/") + "/" + quote(text.encode("utf-8", "surrogatepass"))
    elif where == "query" and params:
        params[sorted(params)[0]] = text
    elif where == "body":
        data = _spliced(body, raw)
    if params:  # percent-encoded here: requests refuses to encode a lone surrogate itself
        raw_params = {k: str(v).encode("utf-8", "surrogatepass") for k, v in params.items()}
        url += "?" + urlencode(raw_params)
    if data is None:  # the body as generated, in an odd encoding
        errors = "surrogatepass" if encoding.startswith("utf-") else "replace"
        data = json.dumps(body if body is not None else {}).encode(encoding, errors)
    headers = {"Content-Type": "application/json"}
    return {"method": kw["method"], "url": url, "data": data, "headers": headers}


def test_hostile_values_in_every_field_never_give_a_5xx(api_schema):
    """Every operation, every way: each generated case with a field (body, query or path)
    replaced by a hostile value, or its body sent in an odd encoding."""
    failures = []
    for op in [r.ok() for r in api_schema.get_all_operations()]:

        @given(
            case=op.as_strategy(),
            raw=st.sampled_from(RAW_VALUES),
            text=HOSTILE_TEXT,
            encoding=st.sampled_from(ENCODINGS),
            where=st.sampled_from(["body", "query", "path", "encoding"]),
        )
        @settings(
            max_examples=25, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def fuzz(case, raw, text, encoding, where):
            req = hostile_request(case, raw, text, encoding, where)
            r = requests.request(**req, timeout=120)
            label = case.operation.label
            assert r.status_code < 500, (label, where, req["data"][:200], r.status_code, r.text)

        try:
            fuzz()
        except Exception as e:  # collect every operation's failure, then report them all
            failures.append(f"{op.label}: {e}")
    assert not failures, "\n\n".join(failures)
