"""Dataset artifacts: `dataset.jsonl` + `hashes.json`: their identity, reading and atomic writing.

Verification (one pass over the file) is in `verifily.dataset.verify`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from verifily.dataset.schema import effective_split, record_problems
from verifily.errors import DatasetError, InputError
from verifily.fsutil import NotRegularFile, fsync_dir, open_regular, read_regular, write_json
from verifily.hashing import canonical_json, sha256_bytes
from verifily.strictjson import JSONRuleError, parse_line

FORMAT_VERSION = 1
DATASET_FILE = "dataset.jsonl"
HASHES_FILE = "hashes.json"


@dataclass(frozen=True)
class DatasetInfo:
    """What a verified artifact is: where, its hashes and its counts."""

    path: str
    dataset_hash: str
    file_sha256: str
    record_count: int
    split_counts: dict[str, int] = field(default_factory=dict)
    size_bytes: int = 0
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return asdict(self)


def dataset_hash_of(file_sha256: str, record_count: int) -> str:
    """The dataset's identity: derived from the file hash and the record count."""
    return sha256_bytes(f"verifily.dataset.v{FORMAT_VERSION}:{file_sha256}:{record_count}".encode())


def read_hashes(artifact_dir: Path) -> dict:
    """Load and shape-check `hashes.json`; raises DatasetError naming the problem."""
    hp = artifact_dir / HASHES_FILE
    try:
        meta = json.loads(read_regular(hp).decode("utf-8"))
    except FileNotFoundError:
        raise DatasetError(
            [f"{hp}: missing (an artifact needs {DATASET_FILE} and {HASHES_FILE})"]
        ) from None
    except NotRegularFile as e:
        raise DatasetError([str(e)]) from None
    except (UnicodeDecodeError, ValueError) as e:
        raise DatasetError([f"{hp}: not valid JSON: {e}"]) from None
    if not isinstance(meta, dict):
        raise DatasetError([f"{hp}: must be a JSON object, got {type(meta).__name__}"])
    missing = [k for k in ("dataset_hash", "files", "record_count") if k not in meta]
    if missing:
        raise DatasetError([f"{hp}: missing keys {missing}"])
    if not isinstance(meta["files"], dict):
        raise DatasetError([f"{hp}: 'files' must be an object of file name -> sha256"])
    return meta


def parse_record(line: bytes, where: str) -> dict:
    """One JSONL line as a record, by the one strict reading and the record schema; an
    InputError naming `where` (file and line) otherwise."""
    try:
        rec = parse_line(line)
    except JSONRuleError as e:
        raise InputError(f"{where}: {e}") from None
    bad = record_problems(rec)
    if bad:
        raise InputError(f"{where}: " + "; ".join(bad))
    return rec  # type: ignore[return-value]  # record_problems says it is a dict


def iter_records(artifact_dir: str | os.PathLike) -> Iterator[dict]:
    """Stream the records of an artifact, each with its effective `split` filled in.

    The artifact was verified before; a line that no longer reads (the file changed
    underneath) is an InputError naming the file and line, by the same rules as `verify`.
    """
    path = Path(artifact_dir) / DATASET_FILE
    with open_regular(path) as f:
        for lineno, line in enumerate(f, 1):
            rec = parse_record(line, f"{path}:{lineno}")
            rec["split"] = effective_split(rec)
            yield rec


def write_artifact(records: Iterable[dict], out_dir: str | os.PathLike) -> DatasetInfo:
    """Write records as a new artifact at out_dir, whole or not at all.

    Records are validated as they are written; the artifact appears under its final name only
    after both files are complete and fsynced. An existing non-empty out_dir is never touched.
    """
    import hashlib

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: already exists and is not empty; refusing to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        h = hashlib.sha256()
        count = 0
        counts = {"train": 0, "eval": 0}
        ids: set = set()
        with open(tmp / DATASET_FILE, "wb") as f:
            for rec in records:
                count += 1
                bad = record_problems(rec)
                if bad:
                    raise InputError(f"record {count}: " + "; ".join(bad))
                if "id" in rec:
                    if rec["id"] in ids:
                        raise InputError(f"record {count}: duplicate id {rec['id']!r}")
                    ids.add(rec["id"])
                line = canonical_json(rec) + b"\n"
                h.update(line)
                f.write(line)
                counts[effective_split(rec)] += 1
            f.flush()
            os.fsync(f.fileno())
        if count == 0:
            raise InputError("no records to write: the dataset would be empty")
        sha = h.hexdigest()
        info = DatasetInfo(
            path=str(out.resolve()),
            dataset_hash=dataset_hash_of(sha, count),
            file_sha256=sha,
            record_count=count,
            split_counts=counts,
        )
        write_json(
            tmp / HASHES_FILE,
            {
                "format_version": FORMAT_VERSION,
                "files": {DATASET_FILE: sha},
                "dataset_hash": info.dataset_hash,
                "record_count": count,
                "split_counts": counts,
            },
        )
        fsync_dir(tmp)
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
        fsync_dir(out.parent)
        return DatasetInfo(**{**info.to_dict(), "size_bytes": (out / DATASET_FILE).stat().st_size})
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
