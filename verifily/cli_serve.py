"""`verifily serve`: the jobs API (FastAPI on uvicorn)."""

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--log-level", default="warning", show_default=True)
def serve(host: str, port: int, log_level: str) -> None:
    """Serve the retrain jobs API (REST under /v1, IntelGraph routes, GraphQL at /graphql).

    Configured by the environment: VERIFILY_DATA_ROOTS, VERIFILY_API_KEY (set it whenever
    the server listens beyond loopback), VERIFILY_DAGSTER_URL, VERIFILY_MODELS_FILE.
    """
    import os

    import uvicorn

    from verifily.api.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get("VERIFILY_API_KEY"):
        click.echo(
            f"warning: listening on {host} without VERIFILY_API_KEY: anyone who can reach "
            "this port can start retrains",
            err=True,
        )
    uvicorn.run(create_app(), host=host, port=port, log_level=log_level)
