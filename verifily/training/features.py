"""Turn record inputs into features: TF-IDF over words plus the numbers in `name=value` pairs.

`verifily ingest` joins several source columns as `col=value, col=value`; tabular data such
as iris arrives that way. Word TF-IDF alone would throw those numbers away (a token like
`5.1` carries no order), so each `name=number` that occurs in most training inputs becomes a
standardised numeric column next to the TF-IDF columns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import cast

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

# `name=number` between commas (or the ends), as `verifily ingest` writes them; names may hold
# spaces and brackets ("sepal length (cm)=5.1").
_PAIR = re.compile(r"(?:^|,)\s*([^=,]+?)\s*=\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?=,|$)")
# A name must appear in at least this share of training inputs to become a column: a number
# mentioned once in free text is noise, a column of a table is present in every row.
MIN_PAIR_SHARE = 0.5
MAX_PAIR_COLUMNS = 1000


class Featurizer:
    """Fitted on training inputs, then maps any inputs to one sparse float32 matrix."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1):
        self.tfidf = TfidfVectorizer(
            ngram_range=ngram_range,
            min_df=min_df,
            sublinear_tf=True,
            # float32 is supported; scikit-learn's annotations name float64 only.
            dtype=np.float32,  # pyright: ignore[reportArgumentType]
        )
        self.columns: list[str] = []
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit_transform(self, inputs: Sequence[str]) -> sp.csr_matrix:
        counts: Counter = Counter()
        for s in inputs:
            counts.update({name for name, _ in _PAIR.findall(s)})
        need = MIN_PAIR_SHARE * len(inputs)
        self.columns = sorted(n for n, c in counts.most_common(MAX_PAIR_COLUMNS) if c >= need)
        text = cast(sp.csr_matrix, self.tfidf.fit_transform(self._words(inputs)))
        if not self.columns:
            return text.tocsr()
        raw = self._numbers(inputs)
        self.mean = np.nanmean(raw, axis=0)
        std = np.nanstd(raw, axis=0)
        self.scale = np.where(std > 0, std, 1.0)
        return self._stack(text, raw)

    def transform(self, inputs: Sequence[str]) -> sp.csr_matrix:
        text = cast(sp.csr_matrix, self.tfidf.transform(self._words(inputs)))
        if not self.columns:
            return text.tocsr()
        return self._stack(text, self._numbers(inputs))

    def describe(self) -> dict:
        """What the features are, for the model card."""
        return {
            "tfidf_vocabulary": len(self.tfidf.vocabulary_),
            "ngram_range": list(self.tfidf.ngram_range),
            "numeric_columns": list(self.columns),
        }

    def _words(self, inputs: Sequence[str]) -> Sequence[str]:
        """Inputs for TF-IDF: the values of numeric columns are dropped, their names kept.

        Each distinct number would otherwise be its own rare token, noise that a linear
        model overfits; the numeric columns carry those values with their order intact.
        """
        if not self.columns:
            return inputs
        names = set(self.columns)

        def keep_name(m: re.Match) -> str:
            return f", {m.group(1)}" if m.group(1).strip() in names else m.group(0)

        return [_PAIR.sub(keep_name, s) for s in inputs]

    def _numbers(self, inputs: Sequence[str]) -> np.ndarray:
        index = {name: i for i, name in enumerate(self.columns)}
        out = np.full((len(inputs), len(self.columns)), np.nan, dtype=np.float64)
        for row, s in enumerate(inputs):
            for name, value in _PAIR.findall(s):
                col = index.get(name)
                if col is not None:
                    out[row, col] = float(value)
        return out

    def _stack(self, text: sp.spmatrix, raw: np.ndarray) -> sp.csr_matrix:
        # A missing value becomes the training mean, i.e. 0 after standardising.
        z = (raw - self.mean) / self.scale
        z = np.nan_to_num(z, nan=0.0).astype(np.float32)
        return cast(
            sp.csr_matrix, sp.hstack([text, sp.csr_matrix(z)], format="csr", dtype=np.float32)
        )
