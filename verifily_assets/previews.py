"""Small Markdown renderings for asset metadata: tables and record previews."""

from collections.abc import Iterable, Sequence
from itertools import islice

import pandas as pd


def markdown_table(df: pd.DataFrame, max_cell: int = 80) -> str:
    """A GitHub-flavoured Markdown table of a small DataFrame (cells cut at max_cell chars)."""

    def cell(v: object) -> str:
        s = str(v).replace("|", "\\|").replace("\n", " ")
        return s if len(s) <= max_cell else s[: max_cell - 1] + "…"

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def records_preview(
    records: Iterable[dict], n: int = 5, columns: Sequence[str] = ("id", "split", "input", "output")
) -> str:
    """The first n records as a Markdown table."""
    df = pd.DataFrame(list(islice(records, n)))
    return markdown_table(df[[c for c in columns if c in df.columns]])
