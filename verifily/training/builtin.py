"""The built-in trainers: a TF-IDF linear classifier, a linear regressor, a retrieval baseline.

Each is a `Trainer` (see interface.py) whose model is a plain picklable object, deterministic
for a given seed: the same records in the same order and the same seed give the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier

from verifily.hashing import canonical_json
from verifily.training.features import Featurizer

# Up to this many training records: word bigrams and the exact (lbfgs) logistic regression.
# Above it the bigram vocabulary costs more memory than it buys, and lbfgs on a million
# documents takes minutes where averaged SGD on the same loss takes seconds with the same
# held-out accuracy (measured with benchmarks/train_throughput.py).
EXACT_LIMIT = 50_000
PREDICT_BATCH = 4096


def _featurizer(n: int) -> Featurizer:
    return Featurizer(ngram_range=(1, 2) if n <= EXACT_LIMIT else (1, 1), min_df=1)


class TextClassifierModel:
    """TF-IDF (+ numeric pairs) features and a logistic regression (lbfgs or averaged SGD)."""

    def __init__(self, featurizer: Featurizer, clf: Any, labels: list[Any]):
        self.featurizer, self.clf, self.labels = featurizer, clf, labels

    def predict(self, inputs: Sequence[str]) -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(inputs), PREDICT_BATCH):
            idx = self.clf.predict(self.featurizer.transform(inputs[i : i + PREDICT_BATCH]))
            out.extend(self.labels[int(k)] for k in idx)
        return out

    def describe(self) -> dict:
        return {
            "classes": len(self.labels),
            "solver": type(self.clf).__name__,
            **self.featurizer.describe(),
        }


def train_text_classifier(records: Sequence[dict], seed: int, workdir: Path) -> TextClassifierModel:
    """Fit the classifier; labels are kept as their JSON values (1, "1" and true stay apart)."""
    by_key: dict[bytes, Any] = {}
    for r in records:
        by_key.setdefault(canonical_json(r["output"]), r["output"])
    keys = sorted(by_key)
    labels = [by_key[k] for k in keys]
    index = {k: i for i, k in enumerate(keys)}
    y = np.fromiter((index[canonical_json(r["output"])] for r in records), dtype=np.int64)
    feat = _featurizer(len(records))
    x = feat.fit_transform([r["input"] for r in records])
    # lbfgs is deterministic; SGD shuffles with random_state, so the seed fixes the model.
    if len(records) <= EXACT_LIMIT:
        clf = LogisticRegression(C=10.0, max_iter=1000, random_state=seed)
    else:
        clf = SGDClassifier(
            loss="log_loss", alpha=1e-5, average=True, max_iter=30, tol=1e-4, random_state=seed
        )
    clf.fit(x, y)
    return TextClassifierModel(feat, clf, labels)


class RegressorModel:
    """TF-IDF (+ numeric pairs) features and a ridge regression."""

    def __init__(self, featurizer: Featurizer, reg: Ridge):
        self.featurizer, self.reg = featurizer, reg

    def predict(self, inputs: Sequence[str]) -> list[float]:
        out: list[float] = []
        for i in range(0, len(inputs), PREDICT_BATCH):
            out.extend(
                self.reg.predict(self.featurizer.transform(inputs[i : i + PREDICT_BATCH])).tolist()
            )
        return out

    def describe(self) -> dict:
        return self.featurizer.describe()


def train_regressor(records: Sequence[dict], seed: int, workdir: Path) -> RegressorModel:
    """Fit a ridge regression of the numeric output."""
    y = np.array([float(r["output"]) for r in records], dtype=np.float64)
    feat = _featurizer(len(records))
    x = feat.fit_transform([r["input"] for r in records])
    reg = Ridge(alpha=1.0, random_state=seed)
    reg.fit(x, y)
    return RegressorModel(feat, reg)


class RetrievalModel:
    """Answers with the output of the most similar training input (TF-IDF cosine)."""

    def __init__(self, featurizer: Featurizer, matrix: Any, outputs: list[Any]):
        self.featurizer, self.matrix, self.outputs = featurizer, matrix, outputs

    def predict(self, inputs: Sequence[str]) -> list[Any]:
        out: list[Any] = []
        # Rows are L2-normalised by TF-IDF, so the dot product is the cosine; argmax takes
        # the first of equals, which keeps ties deterministic (the earliest training record).
        # The dense similarity block stays near 128 MB whatever the index size.
        step = max(1, 32_000_000 // max(1, self.matrix.shape[0]))
        for i in range(0, len(inputs), step):
            sims = (self.featurizer.transform(inputs[i : i + step]) @ self.matrix.T).toarray()
            out.extend(self.outputs[int(j)] for j in sims.argmax(axis=1))
        return out

    def describe(self) -> dict:
        return {"training_records": len(self.outputs), **self.featurizer.describe()}


def train_retrieval(records: Sequence[dict], seed: int, workdir: Path) -> RetrievalModel:
    """Index the training inputs; no randomness, so the seed is not used."""
    feat = Featurizer(ngram_range=(1, 1), min_df=1)
    # Word TF-IDF only: numeric pair columns are not unit-length and would swamp the cosine.
    matrix = feat.tfidf.fit_transform([r["input"] for r in records]).tocsr()
    return RetrievalModel(feat, matrix, [r["output"] for r in records])


BUILTIN_TRAINERS = {
    "text_classifier": train_text_classifier,
    "regressor": train_regressor,
    "retrieval": train_retrieval,
}
# The output kind each built-in trainer is for, and the default trainer per kind.
TRAINER_KIND = {"text_classifier": "classes", "regressor": "numeric", "retrieval": "text"}
DEFAULT_TRAINER = {kind: name for name, kind in TRAINER_KIND.items()}
