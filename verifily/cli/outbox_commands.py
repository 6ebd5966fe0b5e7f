"""`verifily tracking`: the MLflow backlog (`status`), draining it (`drain`), and the detached
drainer `verifily retrain` starts after printing its decision where no daemon runs."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import click

from verifily.config.locations import local_state_dir
from verifily.tracking.store import resolve_tracking_settings

if TYPE_CHECKING:
    from verifily.tracking.outbox import TrackingOutbox

# One detached drainer per state directory at a time; a second one waits for the first to end
# and then drains what is left (so a retrain that ends while the first is finishing its last
# pass is not left behind).
DRAIN_LOCK = "tracking-drain.lock"
# A detached drainer gives up after this long (MLflow very slow): the next retrain starts
# another, and the daemon's sensor drains whatever is left where a daemon runs.
DETACHED_BUDGET_SECONDS = 300.0


def behind_warning(outbox: TrackingOutbox, own_key: str | None) -> str | None:
    """One line when tracking is behind: earlier retrains still pending, or the last failure."""
    status = outbox.status()
    earlier = status["pending_retrains"] - (1 if own_key else 0)
    err = status["last_error"]
    if earlier <= 0 and not err:
        return None
    parts = []
    if earlier > 0:
        parts.append(f"{earlier} earlier retrain(s) not yet in MLflow")
    if err:
        text = err["error"]
        # MLflow's errors are long: the exception's name up front, the cause at the end.
        parts.append(
            "last error: " + (text if len(text) <= 400 else f"{text[:150]} … {text[-200:]}")
        )
    return (
        "warning: MLflow tracking is behind ("
        + "; ".join(parts)
        + "); see `verifily tracking status`"
    )


def start_detached_drain() -> None:
    """Start `verifily tracking drain --detached` in its own session: it outlives this process
    and never holds its terminal, so the CLI's exit does not wait on MLflow."""
    subprocess.Popen(
        [sys.executable, "-m", "verifily", "tracking", "drain", "--detached"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        env=os.environ.copy(),
    )


@click.group()
def tracking() -> None:
    """The tracking outbox: every retrain's MLflow writes, applied by a drainer."""


@tracking.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """The backlog of MLflow writes not yet applied, and the last error."""
    # Imported here: SQLAlchemy is start-up time the other commands do not need.
    from verifily.tracking.outbox import TrackingOutbox

    outbox = TrackingOutbox()
    st = {**outbox.status(), "tracking_uri": resolve_tracking_settings().tracking_uri}
    if as_json:
        click.echo(json.dumps(st, indent=2, sort_keys=True))
        return
    click.echo(f"MLflow:   {st['tracking_uri']}")
    click.echo(
        f"pending:  {st['pending_writes']} writes of {st['pending_retrains']} retrains"
        + (f" (oldest {st['oldest_pending']})" if st["oldest_pending"] else "")
    )
    click.echo(f"applied:  {st['applied_writes']} writes")
    err = st["last_error"]
    click.echo(
        f"last error: retrain {err['retrain']}, {err['op']}: {err['error']}"
        if err
        else "last error: none"
    )


@tracking.command()
@click.option(
    "--detached", is_flag=True, help="As started by `verifily retrain`: quiet, one at a time."
)
@click.option("--budget", type=float, default=None, help="Stop after this many seconds.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Retrains applied at once (each retrain's writes stay in order).",
)
def drain(detached: bool, budget: float | None, workers: int) -> None:
    """Apply the backlog to MLflow now (what the daemon's tracking_outbox sensor does)."""
    # Imported here: the drainer imports MLflow (seconds) only when it applies something.
    from verifily.mirror.drain import drain as drain_outbox

    if not detached:
        report = drain_outbox(budget_seconds=budget, workers=workers)
        click.echo(f"applied {report.applied} writes of {report.retrains} retrains")
        if report.error:
            click.echo(f"error: {report.error}", err=True)
            sys.exit(1)
        return
    state = local_state_dir()
    state.mkdir(parents=True, exist_ok=True)
    with open(state / DRAIN_LOCK, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        drain_outbox(budget_seconds=budget or DETACHED_BUDGET_SECONDS, workers=workers)
