"""Contamination: which evaluation records already appear in the training data.

An eval record is contaminated when, after normalisation (see `contamination_text`), either
its whole text equals a training record's (method "exact"), or at least one of its word
n-grams (n = 13 by default) occurs in a training record and the share of its distinct
n-grams found in training reaches `min_overlap` (method "ngram"). Records shorter than n
tokens in every field can only match exactly. Fields are compared within themselves, never
across field boundaries, and an eval text found in any configured field of a training record
counts (an eval input copied into a training output is contamination too).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from verifily.contamination.index import EvalIndex
from verifily.contamination.scan import TrainMatcher, read_line_chunks, scan_training
from verifily.dataset.artifact import DATASET_FILE, parse_record, read_hashes
from verifily.dataset.schema import effective_split
from verifily.errors import InputError
from verifily.fsutil import NotRegularFile, open_regular, read_regular, write_json
from verifily.hashing import sha256_file

REPORT_VERSION = 1
CONTAMINATION_FILE = "contamination.json"
MAX_TRAIN_IDS = 50
Progress = Callable[[int, int], None]
# A line is certainly a training record without parsing it when its only split key says so.
_TRAIN_SPLIT = re.compile(rb'"split"\s*:\s*"train"')


@dataclass(frozen=True)
class ContaminationParams:
    """How eval records are matched against training records."""

    n: int = 13
    min_overlap: float = 0.0
    fields: tuple[str, ...] = ("input", "output")

    def check(self) -> ContaminationParams:
        """Self, or an InputError naming the bad parameter."""
        if not isinstance(self.n, int) or not 1 <= self.n <= 1000:
            raise InputError(f"n must be an integer from 1 to 1000, got {self.n!r}")
        if not 0 <= self.min_overlap <= 1:
            raise InputError(f"min_overlap must be within [0, 1], got {self.min_overlap!r}")
        bad = [f for f in self.fields if f not in ("input", "output")]
        if not self.fields or bad:
            raise InputError(f"fields must be 'input' and/or 'output', got {list(self.fields)}")
        return self

    def to_dict(self) -> dict:
        return {**asdict(self), "fields": list(self.fields)}


def _artifact_eval_records(dataset: Path) -> Iterator[tuple[object, dict]]:
    """(id, record) of the artifact's eval split, parsing only lines that might be eval."""
    lineno = 0
    for chunk in read_line_chunks(dataset):
        count = chunk.count(b"\n")
        # Canonical JSON (what write_artifact writes) is counted with memmem; other spacing
        # with the regex; a chunk whose every line says "train" needs no parsing at all.
        all_train = (
            b'"eval"' not in chunk
            and b'"meta"' not in chunk
            and (
                chunk.count(b'"split":"train"') == count
                or len(_TRAIN_SPLIT.findall(chunk)) == count
            )
        )
        if not all_train:
            for i, line in enumerate(chunk.split(b"\n")[:-1]):
                if b'"eval"' in line or b'"meta"' in line or len(_TRAIN_SPLIT.findall(line)) != 1:
                    if line.strip():
                        rec = json.loads(line)
                        if effective_split(rec) == "eval":
                            yield rec.get("id", f"line {lineno + i + 1}"), rec
        lineno += count


def eval_file_records(path: Path) -> Iterator[tuple[object, dict]]:
    """(id, record) of a separate JSONL eval file; every record is checked against the schema."""
    with open_regular(path) as f:
        for lineno, line in enumerate(f, 1):
            rec = parse_record(line, f"{path}:{lineno}")
            yield rec.get("id", f"line {lineno}"), rec


def find_contamination(
    dataset_dir: str | os.PathLike,
    eval_path: str | os.PathLike | None = None,
    params: ContaminationParams | None = None,
    progress: Progress | None = None,
) -> dict:
    """The contamination report of a dataset artifact's training split.

    Eval records are the artifact's eval split, or the records of `eval_path` (JSONL in the
    artifact's record schema) when given. Training data is streamed in chunks; memory is
    bounded by the eval index (see `contamination_index`) plus one chunk or one record.
    """
    params = (params or ContaminationParams()).check()
    t0 = time.perf_counter()
    d = Path(dataset_dir)
    meta = read_hashes(d)
    data = d / DATASET_FILE
    if not data.is_file():
        raise InputError(f"{data}: missing")
    size = data.stat().st_size
    total = size * (1 if eval_path else 2)
    done = [0]

    def advance(nbytes: int) -> None:
        done[0] += nbytes
        if progress:
            progress(min(done[0], total), total)

    train_info = {"path": str(d.resolve()), "dataset_hash": meta["dataset_hash"], "split": "train"}
    if eval_path:
        ep = Path(eval_path)
        if not ep.is_file():
            raise InputError(f"{ep}: evaluation file does not exist")
        records = eval_file_records(ep)
        eval_info = {"path": str(ep.resolve()), "sha256": sha256_file(ep), "split": "all"}
    else:
        records = _artifact_eval_records(data)
        eval_info = {**train_info, "split": "eval"}
    index = EvalIndex(records, params.fields, params.n)
    if not eval_path:
        advance(size)
    if eval_path and not index.entries:
        raise InputError(f"{eval_path}: the evaluation file holds no records")
    matcher = TrainMatcher(index, lambda rec: effective_split(rec) == "train")
    stats = scan_training(data, matcher, progress=advance)
    report = build_report(index, params)
    report.update(
        datasets={"train": train_info, "eval": eval_info},
        train_records=int(meta.get("split_counts", {}).get("train", 0)),
        scan={
            **stats,
            "eval_ngrams": index.ngram_count,
            "index_bytes": index.nbytes(),
            "seconds": round(time.perf_counter() - t0, 3),
        },
    )
    if not index.entries:
        report["warning"] = "the evaluation set is empty: nothing to check, nothing contaminated"
    return report


def build_report(index: EvalIndex, params: ContaminationParams) -> dict:
    """The report from the index after the scan: fraction, and per contaminated record why."""
    contaminated, skipped = [], []
    matched_counts = index.matched_counts().tolist()
    totals = index.gram_total.tolist()
    for i, e in enumerate(index.entries):
        if e.skipped:
            skipped.append({"eval_id": e.id, "reason": e.skipped})
            continue
        matched, total = matched_counts[i], totals[i]
        if e.exact_train_ids:
            method, train_ids = "exact", list(dict.fromkeys(e.exact_train_ids))
        elif matched and matched / total >= params.min_overlap:
            method = "ngram"
            ranked = sorted(e.train_ngram_counts.items(), key=lambda kv: -kv[1])
            train_ids = [rid for rid, _ in ranked]
        else:
            continue
        contaminated.append(
            {
                "eval_id": e.id,
                "method": method,
                "ngram_count": matched,
                "ngram_total": total,
                "overlap": round(matched / total, 6) if total else 1.0,
                "train_ids": train_ids[:MAX_TRAIN_IDS],
                "train_match_count": len(train_ids),
            }
        )
    n_eval = len(index.entries)
    return {
        "format_version": REPORT_VERSION,
        "contaminated_fraction": len(contaminated) / n_eval if n_eval else 0.0,
        "contaminated_count": len(contaminated),
        "eval_records": n_eval,
        "skipped_records": skipped,
        "params": params.to_dict(),
        "contaminated": contaminated,
    }


def write_report(run_dir: str | os.PathLike, report: dict) -> Path:
    """Write `contamination.json` into a (staging) run directory, where it is hashed on seal."""
    path = Path(run_dir) / CONTAMINATION_FILE
    write_json(path, report)
    return path


def read_report(run_dir: str | os.PathLike) -> tuple[dict | None, str | None]:
    """(contamination report, None) or (None, why it cannot be read) from a run directory."""
    p = Path(run_dir) / CONTAMINATION_FILE
    try:
        report = json.loads(read_regular(p))
        float(report["contaminated_fraction"])
    except FileNotFoundError:
        return None, f"no {CONTAMINATION_FILE} in {run_dir}"
    except NotRegularFile as e:
        return None, str(e)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"{p} is unreadable: {e}"
    return report, None
