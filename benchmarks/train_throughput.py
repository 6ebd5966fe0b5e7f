"""Real-mode training and evaluation throughput on a generated text-classification artifact.

Generates N records (default 1,000,000) of noisy topic text in 4 classes, writes them as an
artifact, then runs the retrain steps the `retrain_run` and `eval_results` assets run
(start -> train -> evaluate) with the built-in TF-IDF + logistic regression classifier.
Prints records/s for training and evaluation, the peak resident memory after each phase,
which phase dominates, and a ratio against a reference measured in the same run: merely
reading and parsing the same records (iter_records), the floor any trainer pays.

    .venv/bin/python benchmarks/train_throughput.py [--records 1000000] [--keep DIR] [--smoke]
"""

import argparse
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP

from verifily.dataset.artifact import iter_records, write_artifact
from verifily.dataset.verify import verify_artifact
from verifily.retrain import steps
from verifily.retrain.request import RetrainRequest
from verifily.training.features import Featurizer

CLASSES = ("sports", "finance", "science", "travel")


def rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(n: int, seed: int):
    """Noisy topic documents: 4-6 topic words among 14-20 shared words, 5% label noise."""
    rng = random.Random(seed)
    shared = [f"w{i}" for i in range(20_000)]
    topics = {c: [f"{c[:3]}{i}" for i in range(300)] for c in CLASSES}
    for i in range(n):
        label = CLASSES[i % len(CLASSES)]
        words = rng.choices(shared, k=rng.randint(14, 20))
        words += rng.choices(topics[label], k=rng.randint(4, 6))
        # A few words of another topic, so no single word decides the class.
        words += rng.choices(topics[rng.choice(CLASSES)], k=2)
        rng.shuffle(words)
        if rng.random() < 0.05:
            label = rng.choice(CLASSES)
        yield {"id": i, "input": " ".join(words), "output": label}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", default=None, help="Work directory to keep (default: a temp dir).")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.records = 2_000
    os.environ["VERIFILY_ENABLE_REAL_TRAIN"] = "1"
    work = Path(args.keep or tempfile.mkdtemp(prefix="verifily-train-bench-"))
    stamps: list[tuple[float, str]] = []

    def progress(msg: str) -> None:
        stamps.append((time.perf_counter(), msg))

    try:
        t = time.perf_counter()
        info = write_artifact(generate(args.records, args.seed), work / "artifact")
        gen_s = time.perf_counter() - t
        n_train, n_eval = info.split_counts["train"], info.split_counts["eval"]
        print(
            f"records: {info.record_count} (train {n_train}, eval {n_eval}), "
            f"{info.size_bytes / 2**20:.0f} MiB, generated in {gen_s:.1f}s"
        )

        t = time.perf_counter()
        read = sum(1 for _ in iter_records(work / "artifact"))
        read_s = time.perf_counter() - t
        read_rps = read / read_s
        rss_read = rss_mib()

        req = RetrainRequest(
            dataset_dir=str(work / "artifact"),
            output_dir=str(work / "runs"),
            mode="real",
            seed=args.seed,
        )
        state = steps.start(req, verify_artifact(work / "artifact", integrity_only=True))
        t = time.perf_counter()
        state = steps.train(state, progress)
        train_s = time.perf_counter() - t
        rss_train = rss_mib()
        marks = dict((m.split(" ")[0], ts) for ts, m in stamps)
        load_s = marks["training"] - t
        fit_s = state["model"]["fit_seconds"]
        save_s = train_s - load_s - fit_s
        stamps.clear()

        t = time.perf_counter()
        state = steps.evaluate(state, progress)
        eval_s = time.perf_counter() - t
        rss_eval = rss_mib()
        score_s = time.perf_counter() - next(ts for ts, m in stamps if m.startswith("scored"))
        predict_s = eval_s - score_s
        metrics = state["eval_results"]["metrics"]
        model_mib = Path(state["model"]["path"]).stat().st_size / 2**20

        # The featurizer alone on the same inputs: splits the fit into TF-IDF vs solver.
        inputs = [r["input"] for r in iter_records(work / "artifact") if r["split"] == "train"]
        t = time.perf_counter()
        Featurizer(ngram_range=(1, 1)).fit_transform(inputs)
        feat_s = time.perf_counter() - t
        del inputs
        steps.abandon(state)

        train_rps, eval_rps = n_train / train_s, n_eval / eval_s
        print(f"reference: read+parse {read} records in {read_s:.1f}s = {read_rps:,.0f} rec/s")
        print(
            f"train:    {n_train} records in {train_s:.1f}s = {train_rps:,.0f} rec/s "
            f"(ratio to read+parse {train_rps / read_rps:.3f})"
        )
        print(
            f"  load {load_s:.1f}s | fit {fit_s:.1f}s (TF-IDF featurize ~{feat_s:.1f}s, "
            f"solver ~{max(fit_s - feat_s, 0):.1f}s) | save {save_s:.1f}s, "
            f"model {model_mib:.1f} MiB"
        )
        print(
            f"evaluate: {n_eval} records in {eval_s:.1f}s = {eval_rps:,.0f} rec/s "
            f"(ratio to read+parse {eval_rps / read_rps:.3f})"
        )
        print(f"  predict {predict_s:.1f}s | score {score_s:.1f}s")
        print(f"metrics:  {metrics}")
        print(
            f"peak RSS: after read {rss_read:,.0f} MiB, after train {rss_train:,.0f} MiB, "
            f"after evaluate {rss_eval:,.0f} MiB"
        )
        parts = {
            "load records": load_s,
            "TF-IDF featurize": feat_s,
            "solver": max(fit_s - feat_s, 0),
            "save model": save_s,
            "evaluate": eval_s,
        }
        top = max(parts, key=parts.get)
        total = train_s + eval_s
        print(f"dominant: {top} ({parts[top] / total:.0%} of train+evaluate {total:.1f}s)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
