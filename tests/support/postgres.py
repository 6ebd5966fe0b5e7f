"""A real PostgreSQL server for tests: Debian's `postgresql` package, started on a free port.

Usage: depend on the `postgres_url` fixture (registered in tests/conftest.py); each call of
`new_database(postgres_url)` gives a private, empty database. One server per pytest worker.
"""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found[-1]:
        pytest.fail(f"PostgreSQL's {name} not found: install Debian's postgresql package")
    return found[-1]


def _as_postgres() -> list[str]:
    # PostgreSQL refuses to run as root; as root, run it as the package's system user.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A running PostgreSQL on 127.0.0.1 (trust auth), stopped and removed after the session."""
    with running_postgres() as url:
        yield url


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """A PostgreSQL server on a free loopback port until the block ends (benchmarks too)."""
    root = tempfile.mkdtemp(prefix="verifily-pg-")
    os.chmod(root, 0o755)
    data = os.path.join(root, "data")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    run = _as_postgres()
    subprocess.run(
        [
            *run,
            _bin("initdb"),
            "-D",
            data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    port = free_port()
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run, _bin("pg_ctl"), "-D", data, "-o", opts, "-l", f"{root}/log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run, _bin("pg_ctl"), "-D", data, "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str) -> str:
    """Create an empty database on the server; returns its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def dagster_storage(server_url: str) -> dict:
    """dagster.yaml's `storage` on a new, empty database of the server: dagster-postgres (runs,
    event log and schedules in one database) with pooled connections, as config/dagster-api.yaml
    documents it (verifily_assets/instance_storage.py). The driver is named: with SQLAlchemy
    2.1 a bare postgresql:// means psycopg 3, whose server-side parameters break
    dagster-postgres's NOTIFY; dagster-postgres is built on psycopg2."""
    db = new_database(server_url).replace("postgresql+psycopg://", "postgresql+psycopg2://", 1)
    return {
        "storage": {
            "custom": {
                "module": "verifily_assets.instance_storage",
                "class": "PooledPostgresStorage",
                "config": {"postgres_url": db},
            }
        }
    }
