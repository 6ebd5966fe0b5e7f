"""`verifily verify`, `verifily ingest` and `verifily contamination`: dataset artifacts."""

import json
import sys
from pathlib import Path

import click

from verifily.cli.output import ProgressBar, print_json
from verifily.config.pipeline import load_thresholds
from verifily.contamination.report import ContaminationParams, find_contamination
from verifily.dataset.ingest import ingest as ingest_file
from verifily.dataset.verify import verify_artifact
from verifily.decision.gates import contamination_gate
from verifily.fsutil import write_json


@click.command()
@click.argument("dataset_dir")
@click.option("--integrity-only", is_flag=True, help="Only check hashes and the record count.")
@click.option("--json", "as_json", is_flag=True)
def verify(dataset_dir: str, integrity_only: bool, as_json: bool) -> None:
    """Check a dataset artifact in one pass; list every problem with file and line."""
    info = verify_artifact(
        dataset_dir, integrity_only=integrity_only, progress=ProgressBar("verify")
    )
    if as_json:
        print_json(info.to_dict())
    else:
        click.echo(
            f"OK {info.path}: {info.record_count} records, splits {info.split_counts}, "
            f"dataset_hash {info.dataset_hash}"
        )


@click.command()
@click.argument("source")
@click.option(
    "--out",
    "out_dir",
    required=True,
    help="Artifact directory to create (must not exist or be empty).",
)
@click.option(
    "--input-col",
    "input_cols",
    multiple=True,
    default=["input"],
    show_default=True,
    help="Input column; repeat to join several as 'col=value' pairs.",
)
@click.option("--output-col", default="output", show_default=True)
@click.option(
    "--id-col", default=None, help="Column with unique record ids (default: 'id' if present)."
)
@click.option(
    "--split-col", default=None, help="Column with train/eval (default: 'split' if present)."
)
@click.option(
    "--eval-fraction",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Share of records assigned to eval where no split is given (by record hash).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    default=None,
    help="Source format (default: from the extension).",
)
@click.option("--json", "as_json", is_flag=True)
def ingest(
    source: str,
    out_dir: str,
    input_cols: tuple,
    output_col: str,
    id_col: str | None,
    split_col: str | None,
    eval_fraction: float,
    fmt: str | None,
    as_json: bool,
) -> None:
    """Build a dataset artifact from a JSONL, CSV or Parquet file."""
    info = ingest_file(
        source,
        out_dir,
        input_cols=input_cols,
        output_col=output_col,
        id_col=id_col,
        split_col=split_col,
        eval_fraction=eval_fraction,
        fmt=fmt,
    )
    if as_json:
        print_json(info.to_dict())
    else:
        click.echo(
            f"Wrote {info.path}: {info.record_count} records, splits {info.split_counts}, "
            f"dataset_hash {info.dataset_hash}"
        )


@click.command()
@click.option("--dataset", "dataset_dir", required=True, help="Dataset artifact directory.")
@click.option(
    "--eval",
    "eval_file",
    default=None,
    help="Separate JSONL evaluation file (default: the artifact's eval split).",
)
@click.option(
    "--n", type=click.IntRange(1, 1000), default=13, show_default=True, help="Word n-gram length."
)
@click.option(
    "--min-overlap",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of an eval record's n-grams that must occur in training (0: any one).",
)
@click.option(
    "--field",
    "fields",
    type=click.Choice(["input", "output"]),
    multiple=True,
    default=["input", "output"],
    show_default=True,
    help="Record field to compare; repeat for several.",
)
@click.option("--pipeline-config", default=None, help="Thresholds YAML for the gate.")
@click.option("--out", "out_file", default=None, help="Also write the report to this JSON file.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def contamination(
    dataset_dir: str,
    eval_file: str | None,
    n: int,
    min_overlap: float,
    fields: tuple,
    pipeline_config: str | None,
    out_file: str | None,
    as_json: bool,
) -> None:
    """Find evaluation records whose text appears in the training split (exit 1 if the gate fails).

    Exact matches after normalisation (NFKC, casefold, punctuation and whitespace dropped) and
    word n-gram overlap; records shorter than n words match exactly only.
    """
    limit = load_thresholds(pipeline_config).max_contamination
    params = ContaminationParams(n=n, min_overlap=min_overlap, fields=tuple(fields))
    verify_artifact(dataset_dir, integrity_only=True, progress=ProgressBar("verify"))
    report = find_contamination(dataset_dir, eval_file, params, progress=ProgressBar("scan  "))
    gate = contamination_gate(report, limit)
    report["gate"] = {**gate, "max_contamination": limit}
    if out_file:
        write_json(Path(out_file), report)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        if report.get("warning"):
            click.echo(f"warning: {report['warning']}", err=True)
        click.echo(f"{'PASS' if gate['passed'] else 'FAIL'}: {gate['detail']}")
        for c in report["contaminated"][:20]:
            ids = ", ".join(map(str, c["train_ids"][:3]))
            more = c["train_match_count"] - min(3, len(c["train_ids"]))
            click.echo(
                f"  {c['eval_id']}: {c['method']} ({c['ngram_count']}/{c['ngram_total']} "
                f"{n}-grams) in {ids}" + (f" +{more} more" if more > 0 else "")
            )
        if report["contaminated_count"] > 20:
            click.echo(f"  ... and {report['contaminated_count'] - 20} more (see --json)")
        for s in report["skipped_records"][:5]:
            click.echo(f"  not checked: {s['eval_id']}: {s['reason']}", err=True)
        scan = report["scan"]
        click.echo(
            f"scanned {scan['bytes'] / 1e6:.1f} MB in {scan['seconds']:.2f}s; "
            f"{report['eval_records']} eval records, {scan['eval_ngrams']} distinct {n}-grams"
        )
    sys.exit(0 if gate["passed"] else 1)
