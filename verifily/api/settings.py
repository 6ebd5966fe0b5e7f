"""API server settings, read once from the environment when the app is built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from verifily.api.paths import parse_roots

DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ApiSettings:
    """Everything the API needs to know about its deployment."""

    data_roots: list[Path]
    api_key: str | None = None
    dagster_url: str | None = None
    dagster_location: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    output_root: Path | None = None
    models_file: str | None = None
    jobs_db_url: str | None = None
    # The code location's image: only runs of it lend their origin to queued jobs.
    code_image: str | None = None

    @classmethod
    def from_env(cls, env: dict | None = None) -> ApiSettings:
        """VERIFILY_DATA_ROOTS (default: the working directory), VERIFILY_API_KEY,
        VERIFILY_DAGSTER_URL (webserver: the first queued job, or every one on an instance
        without a run queue), VERIFILY_DAGSTER_LOCATION (code location of queued runs),
        VERIFILY_MAX_BODY_BYTES, VERIFILY_OUTPUT_ROOT, VERIFILY_MODELS_FILE, VERIFILY_CODE_IMAGE
        (else DAGSTER_CURRENT_IMAGE, which the Dagster chart sets)."""
        env = os.environ if env is None else env
        roots = parse_roots(env.get("VERIFILY_DATA_ROOTS"))
        out = env.get("VERIFILY_OUTPUT_ROOT")
        return cls(
            data_roots=roots,
            api_key=env.get("VERIFILY_API_KEY") or None,
            dagster_url=env.get("VERIFILY_DAGSTER_URL") or None,
            dagster_location=env.get("VERIFILY_DAGSTER_LOCATION") or None,
            max_body_bytes=int(env.get("VERIFILY_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            output_root=Path(os.path.realpath(out)) if out else roots[0] / "runs",
            models_file=env.get("VERIFILY_MODELS_FILE") or None,
            jobs_db_url=env.get("VERIFILY_JOBS_DB_URL") or None,
            code_image=env.get("VERIFILY_CODE_IMAGE") or env.get("DAGSTER_CURRENT_IMAGE") or None,
        )
