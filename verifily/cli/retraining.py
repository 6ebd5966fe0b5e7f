"""`verifily retrain`: a retrain through the Dagster job, its decision as the exit code."""

import os
import sys

import click

from verifily.cli.outbox_commands import behind_warning, start_detached_drain
from verifily.cli.output import print_json
from verifily.signing.keystore import signer
from verifily.tags import TRIGGER_CLI


@click.command()
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
    # A key problem is one line and exit 65 before Dagster is even imported: nothing written.
    signer()
    # Imported here: the code location (Dagster) costs a second of start-up that the other
    # commands do not pay.
    from verifily_assets.launch import run_retrain

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
    resp = run_retrain(
        fields, trigger=TRIGGER_CLI, log_level="INFO" if show_progress else "CRITICAL"
    )
    behind = None
    if resp.get("tracking_key"):
        try:
            # Imported here: SQLAlchemy is start-up time the other commands do not need.
            from verifily.tracking.outbox import TrackingOutbox

            outbox = TrackingOutbox()
            behind = behind_warning(outbox, resp["tracking_key"])
        except Exception as e:  # the jobs database; the decision stands
            behind = f"warning: could not read the tracking outbox: {e}"
    if behind:
        click.echo(behind, err=True)
    if resp.get("tracking_error"):
        # One line, on stderr (stdout may be --json): the decision stands, MLflow missed it.
        click.echo(
            f"warning: {resp['tracking_error']} (the decision stands; the failure is recorded "
            f"in {resp['run_dir']}/audit_log.jsonl)",
            err=True,
        )
    if as_json:
        print_json(
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
        if resp.get("tracking_key"):
            click.echo("MLflow run: queued (`verifily tracking status`)")
    if resp.get("tracking_key"):
        # After the decision is printed: MLflow is written by a process nobody waits on.
        sys.stdout.flush()
        start_detached_drain()
    sys.exit(resp["exit_code"])
