"""API server settings, read once from the environment when the app is built."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from verifily.api.paths import parse_roots
from verifily.config.models import MODELS_CONFIG_ENV, models_config_path

DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Deprecated: the models file (VERIFILY_MODELS_CONFIG) holds each model's dataset_dir now.
LEGACY_MODELS_FILE_ENV = "VERIFILY_MODELS_FILE"
# Read by earlier releases to reach a webserver or borrow run origins; queued jobs need neither.
UNUSED_ENV = ("VERIFILY_DAGSTER_URL", "VERIFILY_DAGSTER_LOCATION", "VERIFILY_CODE_IMAGE")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiSettings:
    """Everything the API needs to know about its deployment."""

    data_roots: list[Path]
    api_key: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    output_root: Path | None = None
    # The deprecated VERIFILY_MODELS_FILE; None means the models file serves the routes.
    models_file: str | None = None
    jobs_db_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """VERIFILY_DATA_ROOTS (default: the working directory), VERIFILY_API_KEY,
        VERIFILY_MAX_BODY_BYTES, VERIFILY_OUTPUT_ROOT, VERIFILY_JOBS_DB_URL."""
        env = os.environ if environ is None else environ
        for name in UNUSED_ENV:
            if env.get(name):
                log.warning(
                    "%s is no longer used: queued jobs are started by the code location's "
                    "api_jobs sensors, so only dagster-daemon needs to run",
                    name,
                )
        roots = parse_roots(env.get("VERIFILY_DATA_ROOTS"))
        if env.get(LEGACY_MODELS_FILE_ENV):
            log.warning(
                "%s is deprecated and will be removed in the next release: put `dataset_dir:` "
                "under the model's entry in the models file (%s, default config/models.yaml)",
                LEGACY_MODELS_FILE_ENV,
                MODELS_CONFIG_ENV,
            )
        out = env.get("VERIFILY_OUTPUT_ROOT")
        return cls(
            data_roots=roots,
            api_key=env.get("VERIFILY_API_KEY") or None,
            max_body_bytes=int(env.get("VERIFILY_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            output_root=Path(os.path.realpath(out)) if out else roots[0] / "runs",
            models_file=env.get(LEGACY_MODELS_FILE_ENV) or None,
            jobs_db_url=env.get("VERIFILY_JOBS_DB_URL") or None,
        )

    @property
    def models_source(self) -> str:
        """Where the IntelGraph routes look models up, for error messages."""
        return self.models_file or str(models_config_path())
