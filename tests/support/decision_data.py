"""Seeded, learnable word datasets for decision tests: a label is carried by a signal word of
the record's language ("good"/"bad", "bon"/"mauvais", "gut"/"schlecht") amid filler words, so a
text classifier learns exactly the languages whose training records carry their signal."""

import random
from pathlib import Path

from verifily.dataset.artifact import write_artifact

SIGNAL = {"en": ("good", "bad"), "fr": ("bon", "mauvais"), "de": ("gut", "schlecht")}
LABELS = ("pos", "neg")
FILLERS = [f"w{i}" for i in range(300)]


def word_records(
    n: int,
    seed: int,
    *,
    learnable: tuple[str, ...] = ("en", "fr", "de"),
    signal_share: float = 1.0,
    eval_share: float = 0.25,
) -> list[dict]:
    """`n` records, the last `eval_share` of them the eval split. Training records of a
    language outside `learnable` never carry its signal word; eval records always may. A share
    `signal_share` of records carries its signal, the rest have fillers only (a coin flip)."""
    rng = random.Random(seed)
    out = []
    n_train = n - int(n * eval_share)
    for i in range(n):
        split = "train" if i < n_train else "eval"
        lang = ("en", "fr", "de")[i % 3]
        label = rng.randrange(2)
        words = rng.sample(FILLERS, 6)
        if rng.random() < signal_share and (split == "eval" or lang in learnable):
            words.insert(rng.randrange(7), SIGNAL[lang][label])
        out.append(
            {
                "id": f"r{seed}-{i:05d}",
                "input": " ".join(words),
                "output": LABELS[label],
                "split": split,
                "meta": {"lang": lang},
            }
        )
    return out


def word_artifact(path: Path, n: int, seed: int, **kw) -> Path:
    """`word_records` written as a dataset artifact at `path`."""
    write_artifact(word_records(n, seed, **kw), path)
    return path
