"""The FastAPI application factory: routes, error mapping, auth and body-size guard."""

from __future__ import annotations

import dagster as dg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from verifily.api.jobs.service import JobService
from verifily.api.responses import SafeJSONResponse, validation_detail
from verifily.api.routes import approvals_routes, graphql_api, intelgraph, v1
from verifily.api.schemas import INVALID_TEXT
from verifily.api.security import GuardMiddleware
from verifily.api.settings import ApiSettings
from verifily.config.locations import ensure_dagster_home
from verifily.errors import VerifilyError


def create_app(
    settings: ApiSettings | None = None, instance: dg.DagsterInstance | None = None
) -> FastAPI:
    """Build the API on the Dagster instance under DAGSTER_HOME (or the one given)."""
    settings = settings or ApiSettings.from_env()
    if instance is None:
        ensure_dagster_home()
        instance = dg.DagsterInstance.get()
    app = FastAPI(
        title="Verifily",
        version="1",
        description=(
            "Retrain over HTTP on Dagster runs. A job id is given when a job is accepted and "
            "never changes; its record carries the Dagster run id, and every route takes either."
        ),
        redoc_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.state.settings = settings
    app.state.instance = instance
    app.state.jobs = JobService(instance, settings)

    @app.exception_handler(VerifilyError)
    async def verifily_error(request: Request, exc: VerifilyError) -> JSONResponse:
        return SafeJSONResponse({"detail": str(exc)}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Text that is not text (or a number JSON cannot carry) is malformed input: 400, like a
        # malformed path. Anything else a schema refuses keeps FastAPI's 422.
        detail = validation_detail(list(exc.errors()))
        status = 400 if any(e["type"] == INVALID_TEXT for e in detail) else 422
        return SafeJSONResponse({"detail": detail}, status_code=status)

    @app.get("/health", tags=["meta"])
    def health() -> dict:
        """Liveness: no authentication, no I/O."""
        return {"status": "ok"}

    app.include_router(v1.router)
    app.include_router(intelgraph.router)
    app.include_router(approvals_routes.router)
    app.include_router(graphql_api.router)
    app.add_middleware(
        GuardMiddleware, api_key=settings.api_key, max_body_bytes=settings.max_body_bytes
    )
    return app
