"""`verifily promotions` and `verifily rollback`: the model registry's alias history and undo."""

from __future__ import annotations

import getpass
import json
import os

import click

from verifily.registry import promote
from verifily.registry.ledger import ledger_path, ledger_problems, read_ledger
from verifily.tracking.store import resolve_tracking_settings


def _actor() -> str:
    return os.environ.get("VERIFILY_ACTOR") or getpass.getuser()


@click.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def promotions(model: str, as_json: bool) -> None:
    """List every alias move of MODEL from the promotion ledger, oldest first.

    Exits 1 when the ledger's hash chain is broken (the entries are still shown).
    """
    path = ledger_path()
    problems = ledger_problems(path)
    entries = read_ledger(path, model)
    if as_json:
        click.echo(
            json.dumps(
                {"model": model, "ledger": str(path), "entries": entries, "problems": problems},
                indent=2,
                sort_keys=True,
            )
        )
    else:
        if not entries:
            click.echo(f"no promotions of {model!r} in {path}")
        for e in entries:
            d = e["details"]
            before = f"v{d['from_version']}" if d.get("from_version") else "none"
            click.echo(
                f"#{e['seq']} {e['ts']} {e['event']}: {d['alias']} {before} -> v{d['to_version']} "
                f"by {d['actor']}" + (f" [{d['decision']}]" if d.get("decision") else "")
            )
            for why in d.get("why") or []:
                click.echo(f"    why: {why}")
        for p in problems:
            click.echo(f"LEDGER PROBLEM: {p}", err=True)
    if problems:
        raise SystemExit(1)


@click.command()
@click.argument("model")
@click.option("--to", "to_version", required=True, help="Model version to make champion again.")
@click.option("--reason", default="manual rollback", show_default=True, help="Recorded why.")
@click.option("--json", "as_json", is_flag=True)
def rollback(model: str, to_version: str, reason: str, as_json: bool) -> None:
    """Move MODEL's `champion` alias back to VERSION; recorded in the promotion ledger."""
    result = promote.rollback(
        resolve_tracking_settings(),
        model,
        to_version,
        actor=_actor(),
        reason=reason,
        ledger=ledger_path(),
    )
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo(
            f"{model}: champion v{result['from_version'] or 'none'} -> v{result['version']} "
            f"(ledger entry #{result['seq']})"
        )
