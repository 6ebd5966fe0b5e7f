"""Step outputs stored per run, so concurrent retrains of one model never read each other's."""

import pickle
from pathlib import Path

import dagster as dg

from verifily.config.locations import dagster_home
from verifily.fsutil import write_bytes_durable
from verifily.model_ids import check_model_id

LATEST = "latest.pkl"


class _RunScopedPickles(dg.IOManager):
    """<base>/<asset>/<partition>/runs/<run_id>.pkl, plus latest.pkl for later runs."""

    def __init__(self, base: Path):
        self.base = base

    def _dir(self, asset_key: dg.AssetKey, partition: str | None) -> Path:
        # A partition is a model id, and a model id is a path component here: the one rule
        # keeps `../x` or `a/b` from reaching outside (or nesting inside) the storage.
        name = check_model_id(partition, "partition") if partition else "__unpartitioned__"
        return self.base.joinpath(*asset_key.path, name)

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        partition = context.partition_key if context.has_partition_key else None
        d = self._dir(context.asset_key, partition)
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes_durable(d / "runs" / f"{context.run_id}.pkl", data)
        write_bytes_durable(d / LATEST, data)

    def load_input(self, context: dg.InputContext) -> object:
        partition = context.asset_partition_key if context.has_asset_partitions else None
        d = self._dir(context.asset_key, partition)
        try:
            own = d / "runs" / f"{context.upstream_output.run_id}.pkl"  # type: ignore[union-attr]
        except (dg.DagsterInvariantViolationError, AttributeError):
            own = None
        path = own if own is not None and own.exists() else d / LATEST
        if not path.exists():
            raise FileNotFoundError(
                f"no stored output of {context.asset_key.to_user_string()} for partition "
                f"{partition!r} ({path}); materialize it first"
            )
        with open(path, "rb") as f:
            return pickle.load(f)


class RunScopedIOManager(dg.ConfigurableIOManagerFactory):
    """Pickled step outputs kept per run (and the latest per partition) under base_dir."""

    base_dir: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        if self.base_dir:
            base = self.base_dir
        elif context.instance is not None:
            base = context.instance.storage_directory()
        else:
            base = str(dagster_home() / "storage")
        return _RunScopedPickles(Path(base))
