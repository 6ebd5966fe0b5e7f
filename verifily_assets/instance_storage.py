"""Dagster's PostgreSQL storage (dagster-postgres) with its connections kept in a pool.

dagster-postgres connects anew for every statement (SQLAlchemy's NullPool), so a process that
writes a lot pays a PostgreSQL connection per write. The daemon turning 300 stored API jobs
into runs spent most of its time connecting (each new run records ~15 events) and made 5.5
runs/s; with pooled connections it makes ~21 runs/s (`benchmarks/api_queue_drain.py`).
dagster-webserver already pools its own connections (`optimize_for_webserver`); this class
pools them for every process that loads the instance: the daemon, the code server, the API
and the run workers.

    # $DAGSTER_HOME/dagster.yaml
    storage:
      custom:
        module: verifily_assets.instance_storage
        class: PooledPostgresStorage
        config:
          postgres_url: postgresql+psycopg2://user:password@host:5432/dagster
          pool_size: 8    # connections kept open per process (default 8; as many again burst)

Every other key is dagster-postgres's own (`postgres_db: {...}` instead of `postgres_url`,
`should_autocreate_tables`).
"""

from collections.abc import Mapping
from typing import Any, cast

import dagster as dg
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_config,
    pg_url_from_config,
)

POOL_SIZE = 8
# A pooled connection older than this is replaced (a server or proxy may drop idle ones).
POOL_RECYCLE_SECONDS = 3600


class PooledPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's run, event log and schedule storage, each on a pooled engine."""

    def __init__(self, postgres_url: str, pool_size: int = POOL_SIZE, **kwargs: Any):
        super().__init__(postgres_url, **kwargs)
        self.pool_size = pool_size
        token_provider = kwargs.get("token_provider")
        for storage in (self._run_storage, self._event_log_storage, self._schedule_storage):
            # dagster-postgres builds each engine in its constructor with NullPool and offers
            # no setting for it; the engine is replaced once, before any use.
            storage._engine = create_pg_engine(  # type: ignore[attr-defined]
                postgres_url,
                token_provider,
                isolation_level="AUTOCOMMIT",
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_recycle=POOL_RECYCLE_SECONDS,
            )

    @classmethod
    def config_type(cls) -> dict:
        return {
            **cast(dict, pg_config()),
            "pool_size": dg.Field(dg.IntSource, is_required=False, default_value=POOL_SIZE),
        }

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> "PooledPostgresStorage":
        return cls(
            pg_url_from_config(config_value),  # type: ignore[arg-type]
            pool_size=int(config_value.get("pool_size", POOL_SIZE)),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            inst_data=inst_data,
            token_provider=get_token_provider_from_config(config_value),
        )
