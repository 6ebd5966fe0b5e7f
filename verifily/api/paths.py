"""Path safety for paths that arrive over HTTP: decode, refuse, resolve, confine to data roots.

Every check that can be made on the string alone is made before the filesystem is touched;
only then are symlinks resolved (os.path.realpath, which reads links but no file contents),
and the resolved path is checked again and returned, so the value checked is the value used.
No HTTP or Dagster here: the API maps PathRejected to 400 and PathOutsideRoots to 403.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from verifily.errors import InputError

MAX_PATH_CHARS = 4096
MAX_COMPONENT_CHARS = 255
# More layers than this is not a path anyone types, only an attempt to out-decode a checker.
MAX_DECODE_ROUNDS = 4
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PathRejected(InputError):
    """A path that is malformed or hostile on its face (HTTP 400)."""

    http_status = 400


class PathOutsideRoots(InputError):
    """A path that resolves outside every configured data root (HTTP 403)."""

    http_status = 403


def is_unicode(text: str) -> bool:
    """False for a str holding a lone surrogate (JSON's `\\ud800` escape makes one): such a
    string cannot be encoded, so it can name no file and must never reach the filesystem."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_roots(value: str | None, default: str | os.PathLike = ".") -> list[Path]:
    """VERIFILY_DATA_ROOTS (os.pathsep-separated) as resolved absolute directories."""
    raw = [p for p in (value or "").split(os.pathsep) if p.strip()] or [str(default)]
    return [Path(os.path.realpath(os.path.abspath(os.path.expanduser(p)))) for p in raw]


def fully_decode(raw: str, field: str) -> str:
    """Percent-decode until the value stops changing, so `%252e%252e` is seen as `..`."""
    value = raw
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = unquote(value, errors="strict")
        if decoded == value:
            return value
        value = decoded
    raise PathRejected(f"{field}: too many layers of percent-encoding")


def check_path_text(raw: object, field: str) -> str:
    """The lexical checks: type, length, NUL and control bytes, URL schemes, `..` components."""
    if not isinstance(raw, str) or not raw.strip():
        raise PathRejected(f"{field}: must be a non-empty path string")
    if not is_unicode(raw):
        raise PathRejected(f"{field}: not valid Unicode (a lone surrogate escape)")
    if len(raw) > MAX_PATH_CHARS:
        raise PathRejected(f"{field}: path longer than {MAX_PATH_CHARS} characters")
    try:
        value = fully_decode(raw, field)
    except UnicodeDecodeError:
        raise PathRejected(f"{field}: percent-encoding that is not valid UTF-8") from None
    if not is_unicode(value):
        raise PathRejected(f"{field}: percent-encoding of a lone surrogate")
    if "\x00" in value:
        raise PathRejected(f"{field}: NUL byte in path")
    if _CONTROL.search(value):
        raise PathRejected(f"{field}: control character in path")
    if _SCHEME.match(value) or value.startswith("//") or value.startswith("\\\\"):
        raise PathRejected(f"{field}: URLs and network paths are not accepted, only local paths")
    if "\\" in value:
        raise PathRejected(f"{field}: backslashes are not accepted in paths")
    if value.startswith("~"):
        raise PathRejected(f"{field}: '~' is not expanded; give a path inside the data roots")
    parts = value.split("/")
    if any(p == ".." for p in parts):
        raise PathRejected(f"{field}: '..' path components are not accepted")
    if any(len(p.encode()) > MAX_COMPONENT_CHARS for p in parts):
        raise PathRejected(f"{field}: a path component is longer than {MAX_COMPONENT_CHARS} bytes")
    return value


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def safe_path(raw: object, roots: Sequence[Path], field: str) -> Path:
    """The resolved path for `raw`, guaranteed inside one of `roots` (already resolved).

    Relative paths are taken relative to the first root. Raises PathRejected (400) for
    malformed input and PathOutsideRoots (403) for anything that lands outside the roots,
    including through a symlink.
    """
    value = check_path_text(raw, field)
    candidate = Path(os.path.normpath(os.path.join(roots[0], value)))
    if not _inside(candidate, roots):
        raise PathOutsideRoots(f"{field}: {value!r} is outside the allowed data roots")
    resolved = Path(os.path.realpath(candidate))
    if not _inside(resolved, roots):
        raise PathOutsideRoots(
            f"{field}: {value!r} resolves (through a symlink) outside the allowed data roots"
        )
    if len(str(resolved)) > MAX_PATH_CHARS:
        raise PathRejected(f"{field}: resolved path longer than {MAX_PATH_CHARS} characters")
    return resolved
