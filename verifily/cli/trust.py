"""`verifily keys` (the signing key pair run directories and ledger entries are signed with) and
`verifily validate` (a run directory's signature, subjects, contract and audit log, and
optionally its record in the Dagster event log): the commands of the trust model."""

import json
import sys
from pathlib import Path

import click

from verifily.cli.output import print_json
from verifily.config.locations import SIGNING_KEY_ENV, dagster_home, keys_dir, signing_key_file
from verifily.rundir.validation import RunCheck, verify_run_dir
from verifily.signing.keys import SigningKeyError, public_pem
from verifily.signing.keystore import (
    init_local_keys,
    rotate_local_keys,
    signer,
    trusted_keys,
)


@click.group()
def keys() -> None:
    """Create, show and rotate the signing key (VERIFILY_SIGNING_KEY, else a local key pair)."""


@keys.command()
def init() -> None:
    """Create the local key pair (private key mode 0600) unless one exists; print its key id.

    With VERIFILY_SIGNING_KEY set, check that key instead: nothing is created.
    """
    if signing_key_file() is not None:
        s = signer()
        click.echo(f"{SIGNING_KEY_ENV} names the signing key {s.source}; nothing created")
        click.echo(f"key id {s.keyid}")
        return
    s, created = init_local_keys()
    click.echo(f"{'created' if created else 'kept the existing'} key pair in {keys_dir()}")
    click.echo(f"key id {s.keyid}")


@keys.command()
def public() -> None:
    """Print the signing key's public key (PEM): give it to whoever verifies your runs."""
    click.echo(public_pem(signer(create=False).public_key).decode().rstrip("\n"))


@keys.command()
def rotate() -> None:
    """Replace the local key pair with a new one; the old public key stays accepted for runs
    it signed (it moves to keys/trusted/). Remove it from there to stop trusting them."""
    if signing_key_file() is not None:
        raise SigningKeyError(
            f"{SIGNING_KEY_ENV} names the signing key: rotate it where it is managed (README, "
            "Trust model), and put the old public key in the accepted keys"
        )
    s, retired = rotate_local_keys()
    click.echo(f"new key id {s.keyid}")
    if retired:
        click.echo(f"retired key {retired}: still accepted (keys/trusted/{retired}.pub.pem)")


def _instance_problems(check: RunCheck) -> list[str]:
    """The run directory against what its Dagster run's `decision` recorded."""
    try:
        meta = json.loads((Path(check.run_dir) / "run_meta.json").read_text())
        run_id = meta["dagster_run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return ["--instance: run_meta.json names no Dagster run"]
    home = dagster_home()
    if not (home / "dagster.yaml").is_file():
        return [f"--instance: no Dagster instance at {home} (set DAGSTER_HOME)"]
    # Imported here: the code location (Dagster) costs a second of start-up that validating
    # without --instance does not pay.
    from verifily_assets.launch import decision_anchor

    anchor = decision_anchor(str(run_id))
    if anchor is None:
        return [f"--instance: Dagster run {run_id} is not in the instance at {home}"]
    if not anchor:
        return [f"--instance: Dagster run {run_id} recorded no decision"]
    if "chain_hash" not in anchor:
        return [f"--instance: Dagster run {run_id} recorded no digests (made before signing)"]
    problems = []
    if anchor.get("attestation_digest") != check.digest:
        problems.append(
            f"attestation.json: digest {str(check.digest)[:12]}… differs from the one Dagster "
            f"run {run_id} recorded ({str(anchor.get('attestation_digest'))[:12]}…)"
        )
    if anchor.get("chain_hash") != check.chain_hash:
        problems.append(
            f"hashes.json: chain hash differs from the one Dagster run {run_id} recorded"
        )
    return problems


@click.command()
@click.argument("run_dir")
@click.option(
    "--pubkey",
    "pubkeys",
    multiple=True,
    help="Accept only signatures by this public key (PEM); repeat for several. Default: the "
    "local signing key's public key and keys/trusted/ in the state directory.",
)
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="Accept a run without attestation.json (made before signing): VALID (unsigned).",
)
@click.option(
    "--instance",
    "check_instance",
    is_flag=True,
    help="Also compare with the Dagster event log of the run's own run (DAGSTER_HOME).",
)
@click.option("--json", "as_json", is_flag=True)
def validate(
    run_dir: str, pubkeys: tuple, allow_unsigned: bool, check_instance: bool, as_json: bool
) -> None:
    """Verify a run directory: the signature over its attestation, that the signed subjects are
    exactly its files' content, hashes.json and the audit log (exit 1 when anything fails)."""
    keys = trusted_keys(list(pubkeys))
    if not keys and not allow_unsigned:
        raise SigningKeyError(
            "no public key to verify with: pass --pubkey FILE, set VERIFILY_SIGNING_KEY, or "
            "run `verifily keys init`"
        )
    check = verify_run_dir(run_dir, keys, allow_unsigned=allow_unsigned)
    if check_instance and Path(run_dir).is_dir():
        check.problems += _instance_problems(check)
    signer = f"signed by {check.signed_by}" if check.signed_by else "unsigned"
    if as_json:
        print_json(
            {
                "run_dir": str(Path(run_dir).resolve()),
                "valid": check.valid,
                "signed_by": check.signed_by,
                "attestation_digest": check.digest,
                "problems": check.problems,
            }
        )
    elif check.problems:
        click.echo(f"INVALID {run_dir}: {len(check.problems)} problem(s)")
        for p in check.problems:
            click.echo(f"  - {p}")
    else:
        click.echo(f"VALID ({signer}) {run_dir}")
    sys.exit(1 if check.problems else 0)
