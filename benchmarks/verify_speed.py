"""Dataset verification speed against `sha256sum` on the same file.

Generates a dataset artifact of --size-mb (default 1024) and times, on a warm page cache:
sha256sum (the reference), `verify --integrity-only` (hash + record count) and the full
verification (hash, parse and validate every record, one pass). Targets: integrity-only
within 1.3x of sha256sum; full verification at >= 250k records/s.

Usage: .venv/bin/python benchmarks/verify_speed.py [--size-mb 1024] [--reps 3] [--smoke]
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP

from verifily.dataset.artifact import dataset_hash_of
from verifily.dataset.verify import verify_artifact
from verifily.hashing import sha256_file


def generate(d: Path, size_mb: int) -> int:
    """Write a realistic artifact: QA-style records of ~200 bytes, ids, splits, some meta."""
    d.mkdir(parents=True)
    target = size_mb * 1024 * 1024
    n = 0
    written = 0
    words = "the of and to in is was for on that with as by at from his her an which".split()
    with open(d / "dataset.jsonl", "wb") as f:
        batch = []
        while written < target:
            q = " ".join(words[(n * 7 + i) % len(words)] for i in range(12 + n % 9))
            rec = {
                "id": f"rec-{n}",
                "input": f"question {n}: {q}?",
                "output": f"answer {n % 1000}",
                "split": "eval" if n % 10 == 0 else "train",
            }
            if n % 5 == 0:
                rec["meta"] = {"source": "bench", "row": n}
            line = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
            batch.append(line)
            written += len(line)
            n += 1
            if len(batch) == 10000:
                f.write(b"".join(batch))
                batch = []
        f.write(b"".join(batch))
    sha = sha256_file(d / "dataset.jsonl")
    evals = (n + 9) // 10
    (d / "hashes.json").write_text(
        json.dumps(
            {
                "format_version": 1,
                "files": {"dataset.jsonl": sha},
                "dataset_hash": dataset_hash_of(sha, n),
                "record_count": n,
                "split_counts": {"train": n - evals, "eval": evals},
            }
        )
    )
    return n


def best_of(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) if reps < 3 else statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.size_mb, args.reps = 2, 1
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "art"
        n = generate(d, args.size_mb)
        size = (d / "dataset.jsonl").stat().st_size
        subprocess.run(["cat", str(d / "dataset.jsonl")], stdout=subprocess.DEVNULL, check=True)
        t_ref = best_of(
            lambda: subprocess.run(
                ["sha256sum", str(d / "dataset.jsonl")], stdout=subprocess.DEVNULL, check=True
            ),
            args.reps,
        )
        t_int = best_of(lambda: verify_artifact(d, integrity_only=True), args.reps)
        t_full = best_of(lambda: verify_artifact(d), 1)
    mb = size / 1e6
    print(f"dataset: {mb:.0f} MB, {n} records")
    print(f"sha256sum (reference):  {t_ref:.2f} s  {mb / t_ref:7.0f} MB/s")
    print(
        f"verify --integrity-only: {t_int:.2f} s  {mb / t_int:7.0f} MB/s  "
        f"ratio {t_int / t_ref:.2f}x (target <= 1.30x)"
    )
    print(
        f"verify (full, one pass): {t_full:.2f} s  {n / t_full:9.0f} records/s "
        f"(target >= 250000)  ratio {t_full / t_ref:.2f}x sha256sum"
    )


if __name__ == "__main__":
    main()
