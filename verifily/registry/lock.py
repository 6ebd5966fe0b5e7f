"""The per-model promotion lock: held from reading the champion to recording its successor, so
two retrains of one model can never both move `champion` from the same version.

With VERIFILY_LOCK_DB_URL (the deployment's PostgreSQL) it is a session-level advisory lock,
which holds across processes and pods and is released by the server when the holder's
connection dies; without it, an flock on a file in the local state directory (one machine).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator

from verifily.config.locations import LOCK_DB_URL_ENV, local_state_dir, lock_db_url
from verifily.errors import InputError, VerifilyError

LOCKS_DIR = "locks"
# A promotion holds the lock for a few registry calls; waiting longer than this means a holder
# is stuck, and failing says so instead of hanging the retrain.
LOCK_TIMEOUT_SECONDS = 300


def lock_key(model: str) -> int:
    """The signed 64-bit advisory lock key of a model."""
    digest = hashlib.sha256(b"verifily.champion\0" + model.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def model_lock(model: str, db_url: str | None = None) -> Iterator[str]:
    """Hold the model's promotion lock; yields a description of where it is held."""
    url = db_url or lock_db_url()
    if url:
        with _advisory_lock(url, model) as where:
            yield where
    else:
        with _file_lock(model) as where:
            yield where


@contextlib.contextmanager
def _file_lock(model: str) -> Iterator[str]:
    d = local_state_dir() / LOCKS_DIR
    d.mkdir(parents=True, exist_ok=True)
    # Hashed: a model id may hold characters a file name cannot.
    path = d / f"champion-{hashlib.sha256(model.encode()).hexdigest()[:32]}.lock"
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield f"file lock {path}"
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(url: str, model: str) -> Iterator[str]:
    # Imported here: SQLAlchemy costs start-up time a local promotion never needs.
    import sqlalchemy as sa
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    if not url.startswith(("postgresql", "postgres")):
        raise InputError(f"{LOCK_DB_URL_ENV} must be a PostgreSQL URL, got {url.split(':')[0]}:")
    key = lock_key(model)
    # No pool: the lock lives exactly as long as this connection, and closing it releases
    # the lock even if the unlock below never runs.
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'"))
            try:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except OperationalError as e:
                raise LockTimeout(
                    f"the promotion lock of model {model!r} was not free within "
                    f"{LOCK_TIMEOUT_SECONDS}s: {str(e.orig).strip()}"
                ) from None
            try:
                yield f"PostgreSQL advisory lock {key}"
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        engine.dispose()


class LockTimeout(VerifilyError):
    """Another promotion of the model held its lock for too long."""

    http_status = 503
