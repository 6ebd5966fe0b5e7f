"""Path safety as plain functions: every hostile shape refused with the right status."""

import os
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifily.api.paths import (
    MAX_PATH_CHARS,
    PathOutsideRoots,
    PathRejected,
    fully_decode,
    parse_roots,
    safe_path,
)
from verifily.api.resolve import resolve_request
from verifily.errors import InputError, NotImplementedModeError


@pytest.fixture
def roots(tmp_path) -> list[Path]:
    root = tmp_path / "root"
    (root / "data" / "iris").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "escape").symlink_to(tmp_path / "outside")
    (root / "inner_link").symlink_to(root / "data")
    return parse_roots(str(root))


def test_relative_and_absolute_inside_resolve_to_the_real_path(roots):
    root = roots[0]
    assert safe_path("data/iris", roots, "f") == root / "data" / "iris"
    assert safe_path(str(root / "data" / "iris"), roots, "f") == root / "data" / "iris"
    assert safe_path("data/./iris/", roots, "f") == root / "data" / "iris"
    # A symlink that stays inside is allowed, and the returned value is its target.
    assert safe_path("inner_link/iris", roots, "f") == root / "data" / "iris"
    # Not-yet-existing paths (an output dir) are fine inside the roots.
    assert safe_path("runs/new", roots, "f") == root / "runs" / "new"


@pytest.mark.parametrize(
    "raw",
    [
        "../outside",
        "data/../../outside",
        "%2e%2e/outside",
        "%252e%252e/outside",
        "%25252e%25252e/outside",
        "data/%2E%2E/%2E%2E/outside",
        "..%2foutside",
        "..%252foutside",
    ],
)
def test_traversal_is_rejected_in_every_encoding(roots, raw):
    with pytest.raises(PathRejected, match=r"'\.\.'|percent-encoding"):
        safe_path(raw, roots, "dataset_dir")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("data/iris\x00.txt", "NUL"),
        ("data/iris%00", "NUL"),
        ("data/iris%2500", "NUL"),
        ("data/\niris", "control"),
        ("file:///etc/passwd", "URL"),
        ("http://example.com/x", "URL"),
        ("s3://bucket/key", "URL"),
        ("file%3A%2F%2F%2Fetc%2Fpasswd", "URL"),
        ("//server/share", "network"),
        ("~root/x", "~"),
        ("a\\..\\b", "backslash"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("x" * (MAX_PATH_CHARS + 1), "longer than"),
        ("a/" + "b" * 256, "component"),
        ("%ff%fe", "UTF-8"),
    ],
)
def test_malformed_paths_are_400(roots, raw, match):
    with pytest.raises(PathRejected, match=match) as e:
        safe_path(raw, roots, "dataset_dir")
    assert e.value.http_status == 400
    assert "dataset_dir" in str(e.value)


def test_non_strings_are_rejected(roots):
    for raw in (None, 3, ["a"], {"a": 1}):
        with pytest.raises(PathRejected):
            safe_path(raw, roots, "f")


@pytest.mark.parametrize("raw", ["/etc", "/etc/passwd", "/", "/tmp"])
def test_absolute_outside_is_403(roots, raw):
    with pytest.raises(PathOutsideRoots) as e:
        safe_path(raw, roots, "f")
    assert e.value.http_status == 403


def test_symlink_escape_is_403(roots):
    with pytest.raises(PathOutsideRoots, match="symlink"):
        safe_path("escape", roots, "f")
    with pytest.raises(PathOutsideRoots, match="symlink"):
        safe_path("escape/sub/dir", roots, "f")


def test_root_prefix_is_not_containment(tmp_path):
    """/x/root2 is not inside /x/root just because the string starts the same."""
    (tmp_path / "root").mkdir()
    (tmp_path / "root2").mkdir()
    roots = parse_roots(str(tmp_path / "root"))
    with pytest.raises(PathOutsideRoots):
        safe_path(str(tmp_path / "root2"), roots, "f")


def test_several_roots(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    roots = parse_roots(f"{a}{os.pathsep}{b}")
    assert safe_path(str(b / "x"), roots, "f") == b / "x"
    assert safe_path("x", roots, "f") == a / "x"


def test_fully_decode_stops_at_a_bound():
    assert fully_decode("%252e", "f") == "."
    with pytest.raises(PathRejected, match="layers"):
        fully_decode("%" + "25" * 10 + "2e", "f")


def test_resolve_request_fills_defaults_and_checks_mode(roots, monkeypatch):
    root = roots[0]
    fields = resolve_request({"dataset_dir": "data/iris"}, roots, root / "runs")
    assert fields["dataset_dir"] == str(root / "data" / "iris")
    assert fields["output_dir"] == str(root / "runs")
    with pytest.raises(InputError, match="inside base_run_dir"):
        resolve_request(
            {"dataset_dir": "data/iris", "base_run_dir": "runs", "output_dir": "runs/x"},
            roots,
            root / "runs",
        )
    monkeypatch.delenv("VERIFILY_ENABLE_REAL_TRAIN", raising=False)
    with pytest.raises(NotImplementedModeError, match="VERIFILY_ENABLE_REAL_TRAIN=1"):
        resolve_request({"dataset_dir": "data/iris", "mode": "real"}, roots, root / "runs")
    with pytest.raises(InputError, match="mode"):
        resolve_request({"dataset_dir": "data/iris", "mode": "gpu"}, roots, root / "runs")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "%./\x00é", max_size=80))
def test_any_string_is_inside_or_refused(tmp_path_factory, raw):
    """Property: whatever the string, the result is inside the root or an InputError."""
    base = tmp_path_factory.getbasetemp() / "prop"
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    roots = parse_roots(str(root))
    try:
        got = safe_path(raw, roots, "f")
    except (PathRejected, PathOutsideRoots):
        return
    assert got == root or got.is_relative_to(root)


@pytest.mark.parametrize("raw", ["iris\ud800", "a/\udc00b", "%ED%A0%80", "x%ED%B0%80y"])
def test_a_lone_surrogate_never_reaches_the_filesystem(roots, raw):
    """A path from the models file (or any caller) that cannot be encoded is a 400, not an
    UnicodeEncodeError from os.path.realpath."""
    with pytest.raises(PathRejected, match="surrogate|not valid UTF-8"):
        safe_path(raw, roots, "dataset_dir")
