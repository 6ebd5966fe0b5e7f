"""Build a dataset artifact from JSONL, CSV or Parquet, mapping columns to input/output."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from verifily.dataset.artifact import DatasetInfo, write_artifact
from verifily.dataset.schema import DEFAULT_EVAL_FRACTION, assign_split, record_problems
from verifily.errors import InputError
from verifily.fsutil import open_regular
from verifily.strictjson import JSONRuleError, parse_line

FORMATS = ("jsonl", "csv", "parquet")


def detect_format(source: Path) -> str:
    """The source format from its extension."""
    ext = source.suffix.lower().lstrip(".")
    if ext in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if ext in ("csv", "parquet"):
        return ext
    raise InputError(
        f"{source}: cannot tell the format from the extension; pass --format jsonl|csv|parquet"
    )


def _plain(v: Any) -> Any:
    """numpy/pandas scalars to plain Python; NaN and NaT to None."""
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _rows(source: Path, fmt: str) -> Iterator[tuple[str, dict]]:
    """(location, row) pairs from the source, streamed where the format allows."""
    if fmt == "jsonl":
        # The same reading as `verify` and the retrain (verifily.strictjson): blank lines,
        # NaN, repeated keys and runaway nesting are errors naming the line, never skipped.
        with open_regular(source) as f:
            for i, line in enumerate(f, 1):
                try:
                    row = parse_line(line)
                except JSONRuleError as e:
                    raise InputError(f"{source}:{i}: {e}") from None
                if not isinstance(row, dict):
                    raise InputError(f"{source}:{i}: expected a JSON object")
                yield f"{source}:{i}", row
        return
    import pandas as pd

    try:
        if fmt == "csv":
            frames = pd.read_csv(source, chunksize=50_000, dtype_backend="numpy_nullable")
        else:
            frames = [pd.read_parquet(source)]
        row_no = 0
        for frame in frames:
            for row in frame.to_dict(orient="records"):
                row_no += 1
                # CSV rows are numbered as a spreadsheet would: the header is line 1.
                loc = f"{source}:{row_no + 1}" if fmt == "csv" else f"{source}: row {row_no}"
                yield loc, {k: _plain(v) for k, v in row.items()}
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise InputError(f"{source}: cannot read as {fmt}: {e}") from None


def map_row(
    row: dict,
    loc: str,
    input_cols: Sequence[str],
    output_col: str,
    id_col: str | None,
    split_col: str | None,
) -> dict:
    """One source row as a record: input from one column (or `col=value` pairs of several).

    Columns named `id` and `split` are used as such unless other columns are named for them.
    """
    id_col = id_col or ("id" if "id" in row else None)
    split_col = split_col or ("split" if "split" in row else None)
    for col in [*input_cols, output_col]:
        if col not in row:
            raise InputError(f"{loc}: no column {col!r} (columns: {', '.join(map(str, row))})")
    if len(input_cols) == 1:
        text = row[input_cols[0]]
        if text is None:
            raise InputError(f"{loc}: empty {input_cols[0]!r} (the input)")
        text = text if isinstance(text, str) else str(text)
    else:
        text = ", ".join(f"{c}={row[c]}" for c in input_cols)
    output = row[output_col]
    if output is None:
        raise InputError(f"{loc}: empty {output_col!r} (the output)")
    rec: dict[str, Any] = {"input": text, "output": output}
    if id_col:
        if row.get(id_col) is None:
            raise InputError(f"{loc}: empty id column {id_col!r}")
        rec["id"] = row[id_col]
    if split_col and row.get(split_col) is not None:
        rec["split"] = row[split_col]
    used = {*input_cols, output_col, id_col, split_col}
    meta = {k: v for k, v in row.items() if k not in used and v is not None}
    if isinstance(row.get("meta"), dict):
        meta = {**meta, **row["meta"]}
        meta.pop("meta", None)
    if meta:
        rec["meta"] = meta
    return rec


def ingest(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    input_cols: Sequence[str] = ("input",),
    output_col: str = "output",
    id_col: str | None = None,
    split_col: str | None = None,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    fmt: str | None = None,
) -> DatasetInfo:
    """Build an artifact at out_dir from a JSONL, CSV or Parquet file; returns what was written."""
    src = Path(source)
    if not src.is_file():
        raise InputError(f"{src}: source file does not exist")
    if not 0.0 <= eval_fraction <= 1.0:
        raise InputError(f"eval fraction must be within [0, 1], got {eval_fraction}")
    fmt = fmt or detect_format(src)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")

    def records() -> Iterator[dict]:
        ids: set = set()
        for loc, row in _rows(src, fmt):
            rec = map_row(row, loc, input_cols, output_col, id_col, split_col)
            bad = record_problems(rec)
            if bad:
                raise InputError(f"{loc}: " + "; ".join(bad))
            if "id" in rec:  # named here with its line; write_artifact only knows a number
                if rec["id"] in ids:
                    raise InputError(f"{loc}: duplicate id {rec['id']!r}")
                ids.add(rec["id"])
            if "split" not in rec:
                rec["split"] = assign_split(rec, eval_fraction)
            elif rec["split"] not in ("train", "eval"):
                raise InputError(f"{loc}: split must be 'train' or 'eval', got {rec['split']!r}")
            yield rec

    return write_artifact(records(), out_dir)
