"""Freeze a feed window as a dataset artifact: the same window always gives the same hash."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from verifily.dataset.artifact import DatasetInfo, dataset_hash_of, iter_records, write_artifact
from verifily.dataset.verify import verify_artifact
from verifily.errors import DatasetError, InputError
from verifily.feeds import FeedError
from verifily.hashing import canonical_json


def window_dir(root: str | os.PathLike, model_id: str, window_from: int, window_to: int) -> Path:
    """The artifact directory of one window: a pure function of model and window."""
    return Path(root) / model_id / f"window_{window_from:012d}_{window_to:012d}"


def with_eval_set(records: Iterable[dict], eval_set: str | None) -> list[dict]:
    """Window records, then the model's fixed evaluation records (forced to the eval split)."""
    out = list(records)
    if eval_set:
        out += [{**r, "split": "eval"} for r in iter_records(eval_set)]
    return out


def _dataset_hash(records: list[dict]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(canonical_json(r) + b"\n")
    return dataset_hash_of(h.hexdigest(), len(records))


def snapshot_window(records: list[dict], out_dir: str | os.PathLike) -> DatasetInfo:
    """Write `records` as the artifact at out_dir, or reuse it if it already holds them.

    A sensor tick may be retried after a crash; the second attempt finds the first one's
    artifact and, when its content hash matches, reuses it instead of failing or duplicating.
    """
    out = Path(out_dir)
    if not records:
        raise InputError(f"{out}: the window has no records to snapshot")
    want = _dataset_hash(records)
    for _ in range(2):
        if out.exists():
            try:
                info = verify_artifact(out, integrity_only=True)
            except DatasetError as e:
                raise FeedError(f"{out}: existing snapshot is damaged: {e}") from None
            if info.dataset_hash != want:
                raise FeedError(
                    f"{out}: already holds dataset {info.dataset_hash}, but the window now reads "
                    f"as {want}; the feed changed under an already-snapshotted window"
                )
            return info
        try:
            return write_artifact(records, out)
        except OSError:
            # Another tick published the same window first: loop and verify what it wrote.
            continue
    raise FeedError(f"{out}: could not write or reuse the snapshot")
