"""`verifily serve` (the jobs API), `verifily ui` (the Dagster UI and daemon on the same
instance) and `verifily mlflow` (MLflow's UI on the embedded tracking store).

Each stops, with everything it started, within 10 s of SIGTERM or SIGINT, also when started in
the background by a script (see verifily.cli.supervise).
"""

import os
import sys
from pathlib import Path

import click

from verifily.cli.supervise import supervise
from verifily.config.locations import ensure_dagster_home

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# uvicorn waits this long for requests in flight (a sync retrain) before it stops anyway.
SERVE_GRACE_SECONDS = 5


def _bin(name: str) -> str:
    """A console script of this environment (dagster-webserver, mlflow, ...)."""
    return str(Path(sys.executable).with_name(name))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port", "-p", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port."
)
@click.option("--log-level", default="warning", show_default=True)
def serve(host: str, port: int, log_level: str) -> None:
    """Serve the retrain jobs API (REST under /v1, IntelGraph routes, GraphQL at /graphql).

    Queued jobs are run by `dagster-daemon` on the same instance (DAGSTER_HOME) and jobs
    database (VERIFILY_JOBS_DB_URL). Configured by the environment: VERIFILY_DATA_ROOTS,
    VERIFILY_API_KEY (set it whenever the server listens beyond loopback),
    VERIFILY_MODELS_CONFIG. SIGTERM or SIGINT stops it within 10 s.
    """
    # Imported here: the API (FastAPI, Dagster) costs start-up time the other commands skip.
    import uvicorn

    from verifily.api.app import create_app

    if host not in LOOPBACK and not os.environ.get("VERIFILY_API_KEY"):
        click.echo(
            f"warning: listening on {host} without VERIFILY_API_KEY: anyone who can reach "
            "this port can start retrains",
            err=True,
        )
    # uvicorn installs its own SIGTERM and SIGINT handlers (over an inherited "ignore" too) and
    # stops accepting at once; a sync retrain still running is given SERVE_GRACE_SECONDS.
    config = uvicorn.Config(
        create_app(),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=SERVE_GRACE_SECONDS,
    )
    try:
        # After stopping, uvicorn raises the signal it caught again: SIGTERM ends the process
        # here, SIGINT comes back as KeyboardInterrupt.
        uvicorn.Server(config).run()
        code = 0
    except KeyboardInterrupt:
        code = 130
    # A sync retrain's worker thread may outlive the grace period; it must not keep the
    # process alive (its run is left unfinished in Dagster, as on any crash).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _workspace_args() -> list[str]:
    """workspace.yaml when run from a checkout; the module when installed elsewhere."""
    if Path("workspace.yaml").is_file():
        return ["-w", "workspace.yaml"]
    return ["-m", "verifily_assets.definitions"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the UI binds.")
@click.option(
    "--port", "-p", type=click.IntRange(1, 65535), default=3000, show_default=True, help="Port."
)
def ui(host: str, port: int) -> None:
    """The Dagster UI (dagster-webserver) and dagster-daemon on the instance the CLI uses.

    The daemon runs sensors (queued API jobs, feeds, monitors) and launches UI runs. SIGTERM
    or SIGINT (Ctrl-C) stops both, and the runs they started, within 10 s.
    """
    home = ensure_dagster_home()
    click.echo(f"DAGSTER_HOME={home}; UI at http://{host}:{port}", err=True)
    target = _workspace_args()
    code = supervise(
        {
            "dagster-webserver": [
                _bin("dagster-webserver"),
                *("-h", host, "-p", str(port)),
                *target,
            ],
            "dagster-daemon": [_bin("dagster-daemon"), "run", *target],
        }
    )
    sys.exit(code)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the UI binds.")
@click.option(
    "--port", "-p", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port."
)
def mlflow(host: str, port: int) -> None:
    """MLflow's UI on the tracking store retrains write to (the embedded SQLite store unless
    MLflow is configured otherwise), where each decision's MLflow link opens.

    With a tracking server configured there is nothing to start: its own UI is the place.
    SIGTERM or SIGINT stops it within 10 s.
    """
    # Imported here: resolving the store reads configuration the other commands skip.
    from verifily.tracking.store import resolve_tracking_settings

    settings = resolve_tracking_settings()
    if settings.is_remote:
        click.echo(f"runs are tracked on the MLflow server {settings.tracking_uri}: open it")
        return
    cmd = [
        _bin("mlflow"),
        "server",
        *("--backend-store-uri", settings.tracking_uri),
        *("--host", host, "--port", str(port), "--workers", "1"),
    ]
    if settings.artifact_uri:
        cmd += ["--default-artifact-root", settings.artifact_uri]
    click.echo(f"MLflow UI on {settings.tracking_uri} at http://{host}:{port}", err=True)
    # Tracking UI only: without this the server also starts background job consumers.
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    sys.exit(supervise({"mlflow": cmd}, env=env))
