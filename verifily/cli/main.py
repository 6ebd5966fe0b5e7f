"""The `verifily` command line: the group, its commands, and the entry point mapping errors.

Exit codes: 0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE (also the `validate` failure code is 1),
2 usage error, 65 bad input data, 69 mode not available, 70 internal or run failure (also an
operating-system error such as a full disk).
"""

import sys

import click

from verifily.cli import (
    approvals,
    datasets,
    outbox_commands,
    promotions,
    retraining,
    servers,
    trust,
    webhooks_log,
)
from verifily.errors import VerifilyError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="verifily")
def cli() -> None:
    """Verifily: verifiable retraining with SHIP / DONT_SHIP / INVESTIGATE decisions."""


for command in (
    retraining.retrain,
    trust.validate,
    trust.keys,
    datasets.verify,
    datasets.ingest,
    datasets.contamination,
    promotions.promotions,
    promotions.rollback,
    approvals.approvals,
    approvals.approve,
    approvals.reject,
    webhooks_log.webhooks,
    servers.serve,
    servers.ui,
    servers.mlflow,
    outbox_commands.tracking,
):
    cli.add_command(command)


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
    except OSError as e:
        # The machine, not the input: disk full, a file too large, permission denied. The
        # system's words and the file, one line; writers leave nothing half-written behind.
        where = f": {e.filename}" if e.filename else ""
        click.echo(f"error: {e.strerror or e}{where}", err=True)
        sys.exit(70)
    except KeyboardInterrupt:
        sys.exit(130)
