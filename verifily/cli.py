"""The `verifily` command line: a thin shell over the core and the Dagster job.

Exit codes: 0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE (also the `validate` failure code is 1),
2 usage error, 65 bad input data, 69 mode not available, 70 internal or run failure.
"""

import json
import os
import sys
from pathlib import Path

import click

from verifily import cli_mlflow
from verifily.cli_contamination import contamination
from verifily.cli_serve import serve
from verifily.errors import VerifilyError


def _out(obj: object) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True))


class _Bar:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = done * 100 // total if total else 100
        if self.tty and pct != self.last:
            self.last = pct
            bar = "#" * (pct // 4)
            click.echo(f"\r{self.label} [{bar:<25}] {pct:3d}%", nl=pct == 100, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="verifily")
def cli() -> None:
    """Verifily: verifiable retraining with SHIP / DONT_SHIP / INVESTIGATE decisions."""


@cli.command()
@click.option("--dataset", "dataset_dir", required=True, help="Dataset artifact directory.")
@click.option(
    "--out",
    "output_dir",
    default="runs",
    show_default=True,
    help="Output directory for run directories.",
)
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
@click.option(
    "--baseline", "base_run_dir", default=None, help="Baseline run directory to compare with."
)
@click.option(
    "--contaminated",
    "contaminated_run_dir",
    default=None,
    help="Run directory whose contamination report gates this run.",
)
@click.option("--project", "project_id", default="default", show_default=True)
@click.option("--metric", default="f1", show_default=True, help="Primary metric.")
@click.option("--mode", type=click.Choice(["mock", "real"]), default="mock", show_default=True)
@click.option("--notes", default="", help="Free text recorded in config.yaml.")
@click.option("--pipeline-config", default=None, help="Thresholds YAML (default: embedded).")
@click.option("--json", "as_json", is_flag=True, help="Print only the response object as JSON.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Show Dagster's step logs (progress) on stderr."
)
def retrain(as_json: bool, verbose: bool, **fields: object) -> None:
    """Retrain on a dataset artifact through Dagster and print the decision.

    The run is recorded in the Dagster instance under DAGSTER_HOME (default
    ./.verifily/dagster), so `verifily ui` shows it afterwards. The exit code follows the
    decision: 0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE.
    """
    from verifily_assets.runner import run_retrain

    for key in (
        "dataset_dir",
        "output_dir",
        "base_run_dir",
        "contaminated_run_dir",
        "pipeline_config",
    ):
        if fields.get(key):
            fields[key] = os.path.abspath(str(fields[key]))
    # Real training takes a while: its progress lines (INFO step logs) show without -v.
    show_progress = verbose or fields.get("mode") == "real"
    resp = run_retrain(fields, log_level="INFO" if show_progress else "CRITICAL")
    if as_json:
        _out(
            {
                k: resp[k]
                for k in ("run_dir", "decision", "exit_code", "eval_summary", "artifacts", "run_id")
            }
        )
    else:
        summary = resp["eval_summary"]
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in summary.items() if k != "primary_metric")
        click.echo(f"Decision: {resp['decision']}")
        for reason in resp["reasons"]:
            click.echo(f"  - {reason}")
        click.echo(f"Metrics:  {metrics}")
        click.echo(f"Run dir:  {resp['run_dir']}")
        click.echo(f"Dagster run: {resp['run_id']}")
    sys.exit(resp["exit_code"])


@cli.command()
@click.argument("dataset_dir")
@click.option("--integrity-only", is_flag=True, help="Only check hashes and the record count.")
@click.option("--json", "as_json", is_flag=True)
def verify(dataset_dir: str, integrity_only: bool, as_json: bool) -> None:
    """Check a dataset artifact in one pass; list every problem with file and line."""
    from verifily.artifact import verify_artifact

    info = verify_artifact(dataset_dir, integrity_only=integrity_only, progress=_Bar("verify"))
    if as_json:
        _out(info.to_dict())
    else:
        click.echo(
            f"OK {info.path}: {info.record_count} records, splits {info.split_counts}, "
            f"dataset_hash {info.dataset_hash}"
        )


@cli.command()
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
    from verifily.ingest import ingest as do_ingest

    info = do_ingest(
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
        _out(info.to_dict())
    else:
        click.echo(
            f"Wrote {info.path}: {info.record_count} records, splits {info.split_counts}, "
            f"dataset_hash {info.dataset_hash}"
        )


@cli.command()
@click.argument("run_dir")
@click.option("--json", "as_json", is_flag=True)
def validate(run_dir: str, as_json: bool) -> None:
    """Re-hash a run directory and list every contract problem (exit 1 when there are any)."""
    from verifily.contract import validate_run_contract

    problems = validate_run_contract(run_dir)
    if as_json:
        _out({"run_dir": str(Path(run_dir).resolve()), "valid": not problems, "problems": problems})
    elif problems:
        click.echo(f"INVALID {run_dir}: {len(problems)} problem(s)")
        for p in problems:
            click.echo(f"  - {p}")
    else:
        click.echo(f"VALID {run_dir}")
    sys.exit(1 if problems else 0)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("dagster_args", nargs=-1, type=click.UNPROCESSED)
def ui(dagster_args: tuple) -> None:
    """Start `dagster dev` on the same DAGSTER_HOME the CLI uses (extra args go to dagster dev)."""
    from verifily_assets.runner import ensure_dagster_home

    home = ensure_dagster_home()
    click.echo(f"DAGSTER_HOME={home}", err=True)
    # workspace.yaml when run from a checkout; the module when the package is installed elsewhere.
    target = (
        ["-w", "workspace.yaml"]
        if Path("workspace.yaml").is_file()
        else ["-m", "verifily_assets.definitions"]
    )
    args = [str(Path(sys.executable).with_name("dagster")), "dev", *target, *dagster_args]
    os.execvp(args[0], args)


cli.add_command(contamination)
cli.add_command(cli_mlflow.promotions)
cli.add_command(cli_mlflow.rollback)
cli.add_command(serve)


def main() -> None:
    """Entry point: runs the CLI and maps errors to one-line messages and exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except VerifilyError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
