"""Verify a dataset artifact in one pass: hash the file while parsing and checking every record."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from verifily.dataset.artifact import (
    DATASET_FILE,
    FORMAT_VERSION,
    HASHES_FILE,
    DatasetInfo,
    dataset_hash_of,
    read_hashes,
)
from verifily.dataset.schema import SPLITS, effective_split, record_problems
from verifily.errors import DatasetError
from verifily.fsutil import NotRegularFile, open_regular
from verifily.hashing import CHUNK
from verifily.strictjson import JSONRuleError, fast_parse_line, parse_line

# Floats go the slow way: orjson may have produced them from integers too large for 64 bits.
_FAST_OUTPUT_TYPES = (str, int, bool)
_ID_TYPES = (str, int)
_SPLITS = frozenset(SPLITS)
MAX_PROBLEMS = 1000

Progress = Callable[[int, int], None]


@dataclass
class _Scan:
    sha256: str = ""
    records: int = 0
    split_counts: dict[str, int] = field(default_factory=dict)
    size: int = 0
    problems: list[str] = field(default_factory=list)
    extra_problems: int = 0


def scan_dataset_file(
    path: Path, *, validate: bool = True, progress: Progress | None = None
) -> _Scan:
    """Hash `path` while reading it once; with `validate`, also parse and check every line."""
    import hashlib

    scan = _Scan()
    h = hashlib.sha256()
    buf = bytearray(CHUNK * 4)
    view = memoryview(buf)
    newlines = 0
    last = b"\n"
    carry = b""
    lineno = 0
    ids: set = set()
    counts = {"train": 0, "eval": 0}

    def problem(msg: str) -> None:
        if len(scan.problems) < MAX_PROBLEMS:
            scan.problems.append(f"{path}:{lineno}: {msg}")
        else:
            scan.extra_problems += 1

    def accept(rec: dict) -> None:
        rid = rec.get("id")
        if rid is not None:
            if rid in ids:
                problem(f"duplicate id {rid!r}")
            ids.add(rid)
        counts[rec.get("split") or effective_split(rec)] += 1

    def slow_check(line: bytes) -> None:
        """The one strict reading (verifily.strictjson) is authoritative; the fast path only
        speeds up the lines it provably reads the same way. Says exactly what is wrong."""
        try:
            rec = parse_line(line)
        except JSONRuleError as e:
            problem(str(e))
            return
        bad = record_problems(rec)
        for b in bad:
            problem(b)
        if not bad and isinstance(rec, dict):
            accept(rec)

    def check(line: bytes) -> None:
        rec = fast_parse_line(line)
        if (
            type(rec) is not dict
            or type(rec.get("input")) is not str
            or type(rec.get("output")) not in _FAST_OUTPUT_TYPES
            or type(rec.get("split")) is not str
            or rec["split"] not in _SPLITS
            # input, output, split and an id of the right type: nothing else to check.
            or not (len(rec) == 3 or (len(rec) == 4 and type(rec.get("id")) in _ID_TYPES))
            and record_problems(rec)
        ):
            slow_check(line)
            return
        accept(rec)

    with open_regular(path, buffering=0) as f:
        total = os.fstat(f.fileno()).st_size
        while n := f.readinto(buf):
            chunk = view[:n]
            h.update(chunk)
            scan.size += n
            if validate:
                data = carry + bytes(chunk) if carry else bytes(chunk)
                lines = data.split(b"\n")
                carry = lines.pop()
                for line in lines:
                    lineno += 1
                    check(line)
            else:
                newlines += buf.count(b"\n", 0, n)
                last = buf[n - 1 : n]
            if progress:
                progress(scan.size, total)
    if validate:
        if carry:
            lineno += 1
            check(carry)
        scan.records = lineno
        scan.split_counts = counts
    else:
        scan.records = newlines + (1 if scan.size and last != b"\n" else 0)
    scan.sha256 = h.hexdigest()
    if scan.size == 0:
        scan.problems.append(f"{path}: empty dataset (no records)")
    return scan


def verify_artifact(
    artifact_dir: str | os.PathLike,
    *,
    integrity_only: bool = False,
    progress: Progress | None = None,
) -> DatasetInfo:
    """Verify an artifact in one pass and return what it is; raises DatasetError with every problem.

    Integrity-only checks the file hash and record count (hash while counting newlines);
    the full check also parses and validates every record in the same pass.
    """
    d = Path(artifact_dir)
    if not d.is_dir():
        raise DatasetError([f"{d}: dataset directory does not exist"])
    dp = d / DATASET_FILE
    if not dp.exists() and not dp.is_symlink():
        raise DatasetError([f"{dp}: missing (an artifact needs {DATASET_FILE} and {HASHES_FILE})"])
    meta = read_hashes(d)
    try:
        scan = scan_dataset_file(dp, validate=not integrity_only, progress=progress)
    except NotRegularFile as e:  # a symbolic link or not a file: never read through
        raise DatasetError([str(e)]) from None
    problems = list(scan.problems)
    hp = d / HASHES_FILE
    expected_sha = meta.get("files", {}).get(DATASET_FILE)
    if expected_sha != scan.sha256:
        problems.append(
            f"{hp}: sha256 of {DATASET_FILE} is {scan.sha256}, hashes.json says {expected_sha}"
        )
    if meta.get("record_count") != scan.records:
        problems.append(
            f"{hp}: {DATASET_FILE} has {scan.records} records, "
            f"hashes.json says {meta.get('record_count')}"
        )
    if meta.get("dataset_hash") != dataset_hash_of(scan.sha256, scan.records):
        problems.append(f"{hp}: dataset_hash does not match the content")
    if meta.get("format_version") != FORMAT_VERSION:
        problems.append(
            f"{hp}: format_version {meta.get('format_version')!r} is not {FORMAT_VERSION}"
        )
    if not integrity_only and meta.get("split_counts") != scan.split_counts:
        problems.append(
            f"{hp}: split counts are {scan.split_counts}, "
            f"hashes.json says {meta.get('split_counts')}"
        )
    if scan.extra_problems:
        problems.append(f"... and {scan.extra_problems} more problems")
    if problems:
        raise DatasetError(problems)
    return DatasetInfo(
        path=str(d.resolve()),
        dataset_hash=dataset_hash_of(scan.sha256, scan.records),
        file_sha256=scan.sha256,
        record_count=scan.records,
        split_counts=meta.get("split_counts", scan.split_counts),
        size_bytes=scan.size,
    )
