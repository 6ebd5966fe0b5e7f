"""`verifily approvals`, `verifily approve` and `verifily reject`: the decisions that wait for a
person, and taking them (actor from VERIFILY_ACTOR, else the OS user)."""

from __future__ import annotations

import json

import click

from verifily.approvals import review
from verifily.approvals.approval_store import STATES
from verifily.config.locations import default_actor
from verifily.tracking.store import resolve_tracking_settings


def _line(a: dict) -> str:
    reasons = ", ".join(r["rule"] for r in a["reasons"]) or a["recommendation"]
    head = f"{a['approval_id']}  {a['model']}  {a['state']}  {a['recommendation']} ({reasons})"
    if a["state"] == "pending":
        return f"{head}  opened {a['opened_at']}  expires {a['expires_at']}"
    return f"{head}  {a['state']} by {a['actor']} at {a['closed_at']}: {a['reason']}"


@click.command()
@click.argument("model", required=False)
@click.option("--state", type=click.Choice(STATES), default=None, help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the approvals as JSON.")
def approvals(model: str | None, state: str | None, as_json: bool) -> None:
    """List approvals (of MODEL), oldest first: pending ones wait for `verifily approve` or
    `verifily reject`; those past their time are marked expired."""
    found = review.list_approvals(model, state)
    if as_json:
        click.echo(json.dumps({"approvals": found}, indent=2, sort_keys=True))
        return
    if not found:
        click.echo("no approvals" + (f" of {model!r}" if model else ""))
    for a in found:
        click.echo(_line(a))
        if a["state"] == "pending":
            for r in a["reasons"]:
                click.echo(f"    why: {r['message']}")
            click.echo(f"    run: {a['run_dir']}")


@click.command()
@click.argument("approval_id")
@click.option("--reason", required=True, help="Why (recorded in the signed ledger).")
@click.option("--json", "as_json", is_flag=True)
def approve(approval_id: str, reason: str, as_json: bool) -> None:
    """Approve APPROVAL_ID: re-verify its run and move `champion` to it (refused if the champion
    moved since the decision)."""
    a = review.approve(
        approval_id, actor=default_actor(), reason=reason, settings=resolve_tracking_settings()
    )
    if as_json:
        click.echo(json.dumps(a, indent=2, sort_keys=True))
        return
    o = a["outcome"] or {}
    click.echo(
        f"{a['approval_id']} approved by {a['actor']}: {a['model']} champion "
        f"v{o.get('from_version') or 'none'} -> v{o.get('version')} "
        f"(ledger entry #{o.get('ledger_seq')})"
    )


@click.command()
@click.argument("approval_id")
@click.option("--reason", required=True, help="Why (recorded in the signed ledger).")
@click.option("--json", "as_json", is_flag=True)
def reject(approval_id: str, reason: str, as_json: bool) -> None:
    """Reject APPROVAL_ID: nothing moves; the ledger records who and why."""
    a = review.reject(approval_id, actor=default_actor(), reason=reason)
    if as_json:
        click.echo(json.dumps(a, indent=2, sort_keys=True))
        return
    click.echo(
        f"{a['approval_id']} rejected by {a['actor']}: {a['model']} unchanged "
        f"(ledger entry #{(a['outcome'] or {}).get('ledger_seq')})"
    )
