"""`verifily promotions` and `verifily rollback`: the model registry's alias history and undo."""

from __future__ import annotations

import json

import click

from verifily.config.locations import default_actor
from verifily.registry import promote
from verifily.registry.ledger import ledger_path, read_ledger, verify_ledger
from verifily.signing.keys import SigningKeyError
from verifily.signing.keystore import trusted_keys
from verifily.tracking.store import resolve_tracking_settings


def _actor() -> str:
    return default_actor()


@click.command()
@click.argument("model")
@click.option(
    "--pubkey",
    "pubkeys",
    multiple=True,
    help="Accept only signatures by this public key (PEM); repeat for several. Default: the "
    "local signing key's public key and keys/trusted/.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def promotions(model: str, pubkeys: tuple, as_json: bool) -> None:
    """List every alias move of MODEL from the promotion ledger, oldest first.

    Verifies every entry's signature and the hash chain; exits 1 naming the first bad entry
    (the entries are still shown).
    """
    path = ledger_path()
    keys = trusted_keys(list(pubkeys))
    if not keys and path.is_file():
        raise SigningKeyError(
            "no public key to verify the ledger with: pass --pubkey FILE, set "
            "VERIFILY_SIGNING_KEY, or run `verifily keys init`"
        )
    problems = verify_ledger(path, keys).problems
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
            # champion_kept is a refused move; approval entries (opened, rejected, expired)
            # move nothing by design.
            kept = "(kept)" if e["event"] == "champion_kept" else "(no move)"
            after = f"v{d['to_version']}" if d.get("to_version") else kept
            click.echo(
                f"#{e['seq']} {e['ts']} {e['event']}: {d['alias']} {before} -> {after} "
                f"by {d['actor']}" + (f" [{d['decision']}]" if d.get("decision") else "")
            )
            if d.get("redecision"):
                click.echo(
                    f"    re-decided against the champion in place: "
                    f"{d['redecision']['recommendation']}"
                )
            if d.get("approval_id"):
                click.echo(f"    approval: {d['approval_id']}")
            for why in d.get("why") or []:
                click.echo(f"    why: {why}")
        if problems:
            click.echo(f"LEDGER DOES NOT VERIFY: first bad entry: {problems[0]}", err=True)
        for p in problems[1:]:
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
