"""Contamination scan speed: MB/s of training text per core, recall and false positives on
planted copies, and the ratio against a pure-Python 13-gram reference (sets of token tuples)
measured in the same run on a sample of the same training file.

    .venv/bin/python benchmarks/contamination_speed.py [--mb 500] [--eval 10000] [--smoke]

The corpus is generated once into --workdir (default /tmp/verifily-bench-contamination) and
reused while its parameters are unchanged. Planted: 1% of eval records, copied into training
records verbatim, as a substring of a longer record, with changed case and spacing, and with
one changed word. Everything else is random text over a 30k-word vocabulary taken from
Python's own documentation strings, so clean eval records share no 13-gram with training.
"""

import argparse
import inspect
import json
import pydoc
import random
import re
import resource
import shutil
import sys
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP

from verifily.contamination.index import EvalIndex
from verifily.contamination.report import ContaminationParams, eval_file_records, find_contamination
from verifily.contamination.scan import TrainMatcher, scan_training
from verifily.contamination.text import field_text, normalise
from verifily.dataset.artifact import write_artifact
from verifily.dataset.schema import effective_split


def vocabulary(size: int = 30000) -> list[str]:
    """Words from the docstrings of the installed standard library (text none of us wrote)."""
    import pkgutil

    words: dict[str, None] = {}
    for mod in pkgutil.iter_modules():
        if len(words) >= size:
            break
        if mod.name.startswith("_") or mod.name in ("antigravity", "this", "idlelib"):
            continue
        try:
            m = pydoc.safeimport(mod.name)
        except Exception:  # some modules need a display or platform bits; their loss is fine
            continue
        for _, obj in inspect.getmembers(m):
            # One word each (no hyphens or apostrophes): a "word" that normalises to several
            # tokens would repeat multi-token phrases and create real 13-gram overlaps.
            doc = inspect.getdoc(obj) or ""
            for w in re.findall(r"(?<![\w'-])[A-Za-z]{2,}[.,;:]?(?![\w'-])", doc):
                words[w] = None
    return list(words)[:size]


def generate(workdir: Path, mb: int, n_eval: int, seed: int) -> tuple[Path, Path, set]:
    """Write the training artifact and the eval file; return the planted eval ids."""
    stamp = workdir / "params.json"
    params = {"mb": mb, "eval": n_eval, "seed": seed, "v": 3}
    planted_file = workdir / "planted.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return workdir / "train", workdir / "eval.jsonl", set(json.loads(planted_file.read_text()))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    rng = random.Random(seed)
    vocab = vocabulary()

    def text(k: int) -> str:
        return " ".join(rng.choices(vocab, k=k))

    evals = [
        {"id": f"ev-{i}", "input": text(rng.randint(40, 200)), "output": text(3)}
        for i in range(n_eval)
    ]
    planted = rng.sample(range(n_eval), n_eval // 100)
    plants = []
    for j, i in enumerate(planted):
        src = evals[i]["input"]
        kind = j % 4
        if kind == 1:
            src = text(300) + " " + src + " " + text(100)
        elif kind == 2:
            src = "   ".join(src.upper().split())
        elif kind == 3:
            ws = src.split()
            ws[len(ws) // 2] = "CHANGED"
            src = " ".join(ws)
        plants.append({"input": src, "output": text(5)})
    target = mb * 1_000_000

    def records():
        size, k = 0, 0
        every = max(1, target // 1500 // (len(plants) + 1))  # ~1500 bytes per record
        while size < target or plants:
            if plants and k % every == 0:
                rec = plants.pop()
            else:
                rec = {"input": text(rng.randint(50, 250)), "output": text(rng.randint(1, 30))}
            rec = {"id": f"tr-{k}", **rec, "split": "train"}
            size += len(rec["input"]) + len(rec["output"]) + 60
            k += 1
            yield rec

    write_artifact(records(), workdir / "train")
    with open(workdir / "eval.jsonl", "w") as f:
        for rec in evals:
            f.write(json.dumps(rec) + "\n")
    planted_ids = [evals[i]["id"] for i in planted]
    planted_file.write_text(json.dumps(planted_ids))
    stamp.write_text(json.dumps(params))
    return workdir / "train", workdir / "eval.jsonl", set(planted_ids)


def reference(train: Path, eval_file: Path, n: int, sample_bytes: int) -> tuple[float, set]:
    """Pure-Python 13-gram overlap over the first sample_bytes of training: (MB/s, found ids)."""
    fields = ("input", "output")
    t0 = time.perf_counter()
    owner: dict[tuple, list] = {}
    for line in open(eval_file, "rb"):
        rec = json.loads(line)
        for f in fields:
            toks = normalise(field_text(rec.get(f))).split()
            for j in range(len(toks) - n + 1):
                owner.setdefault(tuple(toks[j : j + n]), []).append(rec["id"])
    found: set = set()
    done = 0
    with open(train / "dataset.jsonl", "rb") as fh:
        for line in fh:
            done += len(line)
            rec = json.loads(line)
            if effective_split(rec) == "train":
                for f in fields:
                    toks = normalise(field_text(rec.get(f))).split()
                    for j in range(len(toks) - n + 1):
                        hit = owner.get(tuple(toks[j : j + n]))
                        if hit:
                            found.update(hit)
            if done >= sample_bytes:
                break
    return done / 1e6 / (time.perf_counter() - t0), found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=500, help="training text to generate, MB")
    ap.add_argument("--eval", type=int, default=10000, help="eval records")
    ap.add_argument("--ref-mb", type=int, default=50, help="training MB the reference scans")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default="/tmp/verifily-bench-contamination")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.mb, args.eval, args.ref_mb = 2, 200, 1
        args.workdir = args.workdir + "-smoke"
    t = time.perf_counter()
    train, eval_file, planted = generate(Path(args.workdir), args.mb, args.eval, args.seed)
    size = (train / "dataset.jsonl").stat().st_size
    print(
        f"corpus: {size / 1e6:.0f} MB training JSONL, {args.eval} eval records, "
        f"{len(planted)} planted ({time.perf_counter() - t:.0f}s to prepare)"
    )

    t0, c0 = time.perf_counter(), time.process_time()
    report = find_contamination(train, eval_file, ContaminationParams())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    found = {c["eval_id"] for c in report["contaminated"]}
    recall = len(found & planted) / len(planted)
    false_pos = sorted(found - planted)
    fast_cpu = size / 1e6 / cpu
    print(
        f"verifily: {size / 1e6:.0f} MB in {wall:.1f}s wall, {cpu:.1f}s cpu -> "
        f"{fast_cpu:.0f} MB/s per core (cpu), {size / 1e6 / wall:.0f} MB/s wall"
    )
    print(
        f"  recall {recall:.4f} ({len(found & planted)}/{len(planted)} planted), "
        f"false positives {len(false_pos)} {false_pos[:5]}"
    )
    scan = report["scan"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(
        f"  eval n-grams {scan['eval_ngrams']}, index {scan['index_bytes'] / 1e6:.0f} MB, "
        f"peak RSS {rss:.0f} MB, records parsed {scan['parsed']} of {scan['lines']}"
    )

    c0 = time.process_time()
    ref_rate_wall, ref_found = reference(train, eval_file, 13, args.ref_mb * 1_000_000)
    ref_cpu = time.process_time() - c0
    ref_rate = min(args.ref_mb * 1e6, size) / 1e6 / ref_cpu
    print(
        f"reference (pure Python, sets of 13-token tuples) on the first {args.ref_mb} MB: "
        f"{ref_rate:.1f} MB/s per core (cpu), found {len(ref_found)} "
        f"(all planted: {ref_found <= planted})"
    )
    print(f"ratio verifily / reference: {fast_cpu / ref_rate:.1f}x")
    # Real text is rarely pure ASCII: the same records with a curly apostrophe in each, stored
    # as raw UTF-8 (as `verifily ingest` writes) and as \\u escapes (json.dumps' default).
    index = EvalIndex(list(eval_file_records(eval_file)), ("input", "output"), 13)
    sample = Path(args.workdir) / "sample-utf8.jsonl"
    escaped = Path(args.workdir) / "sample-escaped.jsonl"
    with open(sample, "wb") as out, open(escaped, "w") as esc:
        for k, line in enumerate(open(train / "dataset.jsonl", "rb")):
            line = line.replace(b'"input":"', '"input":"’ '.encode())
            out.write(line)
            esc.write(json.dumps(json.loads(line)) + "\n")
            if k * 1500 > args.ref_mb * 1_000_000:
                break
    for label, path in (("raw UTF-8", sample), ("\\u-escaped", escaped)):
        c0 = time.process_time()
        stats = scan_training(path, TrainMatcher(index, lambda rec: True))
        rate = stats["bytes"] / 1e6 / (time.process_time() - c0)
        print(
            f"non-ASCII in every record ({label}, {stats['bytes'] / 1e6:.0f} MB): "
            f"{rate:.0f} MB/s per core (cpu), {rate / ref_rate:.1f}x the reference"
        )
    ok = fast_cpu >= 100 and recall == 1.0 and not false_pos
    print(
        "target (>= 100 MB/s per core, recall 1.0, no false positives):", "met" if ok else "NOT met"
    )
    sys.exit(0 if recall == 1.0 and not false_pos else 1)


if __name__ == "__main__":
    main()
