"""`verifily serve` (the jobs API) and `verifily ui` (the Dagster UI on the same instance)."""

import os
import sys
from pathlib import Path

import click

from verifily.config.locations import ensure_dagster_home


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--log-level", default="warning", show_default=True)
def serve(host: str, port: int, log_level: str) -> None:
    """Serve the retrain jobs API (REST under /v1, IntelGraph routes, GraphQL at /graphql).

    Configured by the environment: VERIFILY_DATA_ROOTS, VERIFILY_API_KEY (set it whenever
    the server listens beyond loopback), VERIFILY_DAGSTER_URL, VERIFILY_MODELS_CONFIG.
    """
    # Imported here: the API (FastAPI, Dagster) costs start-up time the other commands skip.
    import uvicorn

    from verifily.api.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get("VERIFILY_API_KEY"):
        click.echo(
            f"warning: listening on {host} without VERIFILY_API_KEY: anyone who can reach "
            "this port can start retrains",
            err=True,
        )
    uvicorn.run(create_app(), host=host, port=port, log_level=log_level)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("dagster_args", nargs=-1, type=click.UNPROCESSED)
def ui(dagster_args: tuple) -> None:
    """Start `dagster dev` on the same DAGSTER_HOME the CLI uses (extra args go to dagster dev)."""
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
