"""The instance's PostgreSQL storage keeps its connections in a pool: a run and its events go
through the same few connections instead of one new connection per statement."""

import dagster as dg
import sqlalchemy as sa
import yaml

from tests.support.postgres import dagster_storage


def test_the_instance_storage_reuses_pooled_connections(postgres_url, tmp_path):
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(dagster_storage(postgres_url)))
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:

        @dg.op
        def one():
            return 1

        @dg.job
        def small():
            one()

        assert small.execute_in_process(instance=instance).success
        engines = [
            s._engine  # type: ignore[attr-defined]  # noqa: SLF001 - the engine the yaml built
            for s in (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
        ]
        # dagster-postgres alone: NullPool, a new connection for every statement.
        assert all(isinstance(e.pool, sa.pool.QueuePool) for e in engines)
        assert all(e.pool.size() == 8 for e in engines)  # type: ignore[attr-defined]
        # The run's dozens of writes left open connections behind to reuse.
        assert engines[1].pool.checkedin() >= 1  # type: ignore[attr-defined]
        with engines[1].connect() as conn:
            backends = conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            ).scalar()
        assert backends is not None and 1 <= backends <= 3 * 8
    finally:
        instance.dispose()
