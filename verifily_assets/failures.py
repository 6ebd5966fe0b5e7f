"""Turn core errors into Dagster failures that keep the message, type and exit code."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from verifily.errors import VerifilyError


@contextmanager
def verifily_failure() -> Iterator[None]:
    """Re-raise a VerifilyError as dg.Failure: no traceback in the UI, the message up front."""
    try:
        yield
    except VerifilyError as e:
        raise dg.Failure(
            description=str(e),
            metadata={
                "error_type": type(e).__name__,
                "exit_code": e.exit_code,
                "http_status": e.http_status,
            },
            allow_retries=False,
        ) from e
