"""What same-records decisions add to a retrain: re-scoring the baseline's model on the
candidate's eval split and the paired bootstrap (with slices), per retrain.

- Bootstrap alone on a 100,000-record eval split x --resamples (default 2,000), one core
  (BLAS/OpenMP threads pinned to 1): classes (accuracy + macro-F1, McNemar), mock/text
  (exact match + token F1) and numeric (continuous errors, the per-record index path).
  Target: <= 1 s for classes. Reference: the textbook bootstrap (draw n record indices per
  resample and average), for accuracy alone, measured in the same run.
- Per retrain, real mode, on the bundled example (iris, 25 eval records) and on a word dataset
  with a 100,000-record eval split: the added re-scoring (load the baseline's model, predict,
  write eval/baseline_predictions.jsonl) and evidence (read both prediction files, bootstrap,
  one slice field) against the whole retrain (start to publish) measured in the same run.
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import checkout  # noqa: E402, F401 - this checkout on sys.path (benchmarks/checkout.py)
import numpy as np  # noqa: E402
from harness import SMOKE_HELP, median_seconds  # noqa: E402

from tests.support.examples import IRIS  # noqa: E402


def textbook_accuracy_bootstrap(correct: np.ndarray, resamples: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(correct)
    block = max(1, 4_000_000 // n)
    out = []
    for start in range(0, resamples, block):
        b = min(block, resamples - start)
        out.append(correct[rng.integers(0, n, size=(b, n))].mean(axis=1))
    np.quantile(np.concatenate(out), [0.025, 0.975])


def bootstrap_alone(n: int, resamples: int, reps: int) -> None:
    from verifily.stats.bootstrap import stream
    from verifily.stats.paired import compare
    from verifily.training.outcomes import BINARY_COLUMNS, METRICS, record_columns

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, n)
    flip_c, flip_b = rng.random(n) < 0.18, rng.random(n) < 0.2
    pc = np.where(flip_c, (truth + 1) % 3, truth).tolist()
    pb = np.where(flip_b, (truth + 2) % 3, truth).tolist()
    codes: dict = {}
    cc = record_columns("classes", pc, truth.tolist(), codes)
    cb = record_columns("classes", pb, truth.tolist(), codes)
    opts = {"binary": BINARY_COLUMNS, "resamples": resamples, "confidence": 0.95}
    em_c, em_b = (~flip_c).astype(float), (~flip_b).astype(float)
    tc = {"em": em_c, "f1": np.where(em_c == 1, 1.0, 0.4)}
    tb = {"em": em_b, "f1": np.where(em_b == 1, 1.0, 0.35)}
    yt = rng.normal(size=n)
    nc = record_columns("numeric", (yt + rng.normal(0, 0.1, n)).tolist(), yt.tolist())
    nb = record_columns("numeric", (yt + rng.normal(0, 0.11, n)).tolist(), yt.tolist())
    cases = {
        "classes (4 metrics)": (cc, cb, METRICS["classes"]),
        "mock/text (2 metrics)": (tc, tb, METRICS["text"]),
        "numeric (4 metrics, index path)": (nc, nb, METRICS["numeric"]),
    }
    ref = median_seconds(lambda: textbook_accuracy_bootstrap(em_c - em_b, resamples, 1), reps)
    print(f"bootstrap, {n:,} records x {resamples:,} resamples, one core (median of {reps}):")
    print(f"  reference: textbook index bootstrap of accuracy alone: {ref:.3f} s")
    for name, (c, b, metrics) in cases.items():
        s = median_seconds(
            lambda c=c, b=b, m=metrics: compare(c, m, baseline=b, rng=stream(1, "all"), **opts),
            reps,
        )
        print(f"  {name}: {s:.3f} s  (ratio to the reference {s / ref:.2f})")


def per_retrain(label: str, data: Path, base_data: Path, root: Path, reps: int) -> None:
    from verifily.config.slices import SliceSpec
    from verifily.dataset.verify import verify_artifact
    from verifily.decision.evidence import gather
    from verifily.decision.references import load_baseline
    from verifily.retrain import steps
    from verifily.retrain.request import RetrainRequest
    from verifily.retrain.rescoring import rescore_baseline
    from verifily.signing.keystore import trusted_keys

    out = root / f"runs_{label}"

    def retrain(dataset: Path, base: str | None) -> tuple[dict, dict, float]:
        req = RetrainRequest(
            dataset_dir=str(dataset), output_dir=str(out), mode="real", seed=7, base_run_dir=base
        )
        t0 = time.perf_counter()
        state = steps.start(req, verify_artifact(dataset), "bench")
        state = steps.evaluate(steps.train(state))
        state = steps.decide(state)
        resp = steps.publish(state)
        return state, resp, time.perf_counter() - t0

    _, base, _ = retrain(base_data, None)
    state, _, total = retrain(data, base["run_dir"])
    n = state["eval_results"]["n_eval"]
    # The candidate's state before publishing, as the eval and decide steps saw it.
    req = RetrainRequest(
        dataset_dir=str(data), output_dir=str(out), mode="real", seed=7,
        base_run_dir=base["run_dir"],
    )  # fmt: skip
    staged = steps.evaluate(steps.train(steps.start(req, verify_artifact(data), "bench")))
    loaded = load_baseline(base["run_dir"], trusted_keys())
    ref = {**loaded.ref(), "metrics": loaded.value}
    thresholds = steps.load_thresholds(None)
    slices = [SliceSpec("meta.lang")] if label != "iris" else []
    rescore = median_seconds(lambda: rescore_baseline(staged), reps)
    evidence = median_seconds(lambda: gather(staged, thresholds, slices, ref), reps)
    steps.abandon(staged)
    added = rescore + evidence
    print(
        f"{label} ({n:,} eval records), real mode, median of {reps}: retrain start->publish "
        f"{total:.3f} s (reference); added: re-scoring {rescore:.3f} s + evidence "
        f"(bootstrap {thresholds.resamples:,} resamples{', 3 slices' if slices else ''}) "
        f"{evidence:.3f} s = {added:.3f} s, ratio to the retrain {added / total:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.n, args.resamples, args.reps = 2_000, 100, 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["VERIFILY_STATE_DIR"] = str(root / "state")
        os.environ["VERIFILY_ENABLE_REAL_TRAIN"] = "1"
        from tests.support.decision_data import word_artifact

        bootstrap_alone(args.n, args.resamples, args.reps)
        per_retrain("iris", IRIS, IRIS, root, args.reps)
        total = int(args.n / 0.8)
        big = word_artifact(root / "big", total, seed=1, signal_share=0.7, eval_share=0.8)
        big_base = word_artifact(root / "big_base", total, seed=2, signal_share=0.7, eval_share=0.8)
        per_retrain("words", big, big_base, root, max(1, args.reps // 2))


if __name__ == "__main__":
    main()
