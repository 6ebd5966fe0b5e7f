"""Bring-your-own trainers used by the tests, loaded by Verifily as `module:function`."""

import time
from collections import Counter, defaultdict
from pathlib import Path


class FirstNumberModel:
    """Predicts the most common training output among inputs sharing the rounded 3rd number."""

    def __init__(self, table: dict, fallback):
        self.table, self.fallback = table, fallback

    def predict(self, inputs):
        return [self.table.get(_key(s), self.fallback) for s in inputs]


def _key(text: str) -> int:
    # For iris the third number is the petal length: below ~2.5 setosa, above ~5 virginica.
    numbers = [float(part.split("=")[1]) for part in text.split(", ")]
    return round(numbers[2])


def train_petal_lookup(records, seed, workdir: Path):
    """A lookup table on rounded petal length; writes a note into its work directory."""
    by_key: dict = defaultdict(Counter)
    for r in records:
        by_key[_key(r["input"])][r["output"]] += 1
    table = {k: c.most_common(1)[0][0] for k, c in sorted(by_key.items())}
    fallback = Counter(r["output"] for r in records).most_common(1)[0][0]
    (workdir / "notes.txt").write_text(f"seed={seed} keys={sorted(table)}\n")
    return FirstNumberModel(table, fallback)


def train_raises(records, seed, workdir):
    raise ValueError("the test trainer refuses to train")


def train_returns_nothing(records, seed, workdir):
    return None


NOT_A_FUNCTION = 42


def train_until_killed(records, seed, workdir: Path):
    """Says it has started (workdir/started), then trains "forever": a retrain to kill mid-step."""
    (workdir / "started").write_text("training\n")
    time.sleep(600)
    raise RuntimeError("the test should have killed this retrain")
