"""The one models file: every model Verifily knows, where its records arrive (a feed, for the
record-count trigger) and what a retrain on request trains on (`dataset_dir`, for the jobs API).

`$VERIFILY_MODELS_CONFIG`, else `config/models.yaml` under the working directory. Relative
paths in the file are relative to the file's own directory, so a config works from any
working directory (the daemon's, a test's, a pod's).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from verifily.config.files import load_yaml_file
from verifily.config.graph_feed import GraphFeedSpec, parse_graph_feed
from verifily.config.pipeline import load_thresholds
from verifily.errors import InputError
from verifily.feeds import DEFAULT_GAP_TIMEOUT_SECONDS
from verifily.model_ids import check_model_id
from verifily.modes import MODES

DEFAULT_MIN_RECORDS = 50
# A backlog is consumed in windows of at most this many records, so one tick's snapshot stays
# well inside the sensor timeout whatever the feed's size.
DEFAULT_MAX_WINDOW_RECORDS = 100_000
DEFAULT_INTERVAL_SECONDS = 30
# A watching tick must end well inside Dagster's 60 s sensor timeout.
MAX_WATCH_SECONDS = 30.0
INTERVAL_ENV = "VERIFILY_SENSOR_INTERVAL_SECONDS"
MODELS_CONFIG_ENV = "VERIFILY_MODELS_CONFIG"
DEFAULT_MODELS_CONFIG = Path("config") / "models.yaml"
FEED_KINDS = ("jsonl", "sql", "neo4j")
START_AT = ("beginning", "end")


@dataclass(frozen=True)
class FeedSpec:
    """Where a model's records arrive: a JSONL directory, a SQL table (URL or env var), or a
    Neo4j graph (`graph`)."""

    kind: str
    path: str | None = None
    url: str | None = None
    url_env: str | None = None
    table: str = "verifily_feed"
    gap_timeout_seconds: float = DEFAULT_GAP_TIMEOUT_SECONDS
    graph: GraphFeedSpec | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One model: with a feed, it retrains when `min_records` new records have arrived; with a
    dataset_dir, the jobs API retrains it on that artifact when asked."""

    model_id: str
    feed: FeedSpec | None = None
    min_records: int = DEFAULT_MIN_RECORDS
    max_window_records: int = DEFAULT_MAX_WINDOW_RECORDS
    eval_set: str | None = None
    pipeline_config: str | None = None
    mode: str = "mock"
    start_at: str = "beginning"
    output_dir: str | None = None
    # The dataset artifact a retrain on request (jobs API, GraphQL) uses for this model.
    dataset_dir: str | None = None

    def request_fields(self) -> dict:
        """Retrain request fields for a retrain of this model on request (jobs API)."""
        if not self.dataset_dir:
            raise InputError(f"model {self.model_id!r} has no dataset_dir in the models file")
        fields = {"dataset_dir": self.dataset_dir, "mode": self.mode}
        if self.pipeline_config:
            fields["pipeline_config"] = self.pipeline_config
        if self.output_dir:
            fields["output_dir"] = self.output_dir
        return fields


@dataclass(frozen=True)
class ModelsConfig:
    """Every model, and how often the feeds of automatically retrained ones are looked at."""

    models: list[ModelSpec] = field(default_factory=list)
    snapshot_root: str = "snapshots"
    sensor_interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    autostart: bool = False
    # How long a tick that finds too few records keeps watching the feed before it skips
    # (0: it skips at once). See the README on low trigger latency.
    tick_watch_seconds: float = 0.0


def _path(base: Path, value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(f"{where} must be a path, got {value!r}")
    return str((base / os.path.expanduser(value)).resolve())


def _keys(raw: object, allowed: set[str], where: str) -> dict:
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {sorted(allowed)}")
    return raw


def _feed(raw: object, base: Path, where: str) -> FeedSpec:
    if isinstance(raw, dict) and raw.get("kind") == "neo4j":
        return FeedSpec("neo4j", graph=parse_graph_feed(raw, where))
    raw = _keys(raw, {"kind", "path", "url", "url_env", "table", "gap_timeout_seconds"}, where)
    kind = raw.get("kind", "jsonl")
    if kind not in FEED_KINDS:
        raise InputError(f"{where}.kind must be one of {', '.join(FEED_KINDS)}, got {kind!r}")
    if kind == "jsonl":
        if not raw.get("path"):
            raise InputError(f"{where}: a jsonl feed needs 'path' (its directory)")
        return FeedSpec("jsonl", path=_path(base, raw["path"], f"{where}.path"))
    if bool(raw.get("url")) == bool(raw.get("url_env")):
        raise InputError(f"{where}: a sql feed needs exactly one of 'url' or 'url_env'")
    gap = raw.get("gap_timeout_seconds", DEFAULT_GAP_TIMEOUT_SECONDS)
    if isinstance(gap, bool) or not isinstance(gap, int | float) or gap < 0:
        raise InputError(f"{where}.gap_timeout_seconds must be a number >= 0, got {gap!r}")
    return FeedSpec(
        "sql",
        url=raw.get("url"),
        url_env=raw.get("url_env"),
        table=raw.get("table") or "verifily_feed",
        gap_timeout_seconds=float(gap),
    )


def _model(raw: object, base: Path, where: str) -> ModelSpec:
    allowed = {"id", "feed", "min_records", "max_window_records", "eval_set",
               "pipeline_config", "mode", "start_at", "output_dir", "dataset_dir"}  # fmt: skip
    raw = _keys(raw, allowed, where)
    mid = check_model_id(raw.get("id"), f"{where}.id")
    where = f"model {mid!r}"
    if "feed" not in raw and "dataset_dir" not in raw:
        raise InputError(
            f"{where}: give a 'feed' (automatic retrains), a 'dataset_dir' (retrains on "
            "request), or both"
        )
    n = raw.get("min_records", DEFAULT_MIN_RECORDS)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"{where}: min_records must be a positive integer, got {n!r}")
    cap = raw.get("max_window_records", max(DEFAULT_MAX_WINDOW_RECORDS, n))
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < n:
        raise InputError(f"{where}: max_window_records must be an integer >= min_records ({n})")
    mode = raw.get("mode", "mock")
    if mode not in MODES:
        raise InputError(f"{where}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    start_at = raw.get("start_at", "beginning")
    if start_at not in START_AT:
        raise InputError(f"{where}: start_at must be one of {', '.join(START_AT)}")
    pipeline = _path(base, raw.get("pipeline_config"), f"{where}.pipeline_config")
    if pipeline:
        load_thresholds(pipeline)  # a bad thresholds file fails at load, not at the first retrain
    return ModelSpec(
        model_id=mid,
        feed=_feed(raw["feed"], base, f"{where}.feed") if "feed" in raw else None,
        min_records=n,
        max_window_records=cap,
        eval_set=_path(base, raw.get("eval_set"), f"{where}.eval_set"),
        pipeline_config=pipeline,
        mode=mode,
        start_at=start_at,
        output_dir=_path(base, raw.get("output_dir"), f"{where}.output_dir"),
        dataset_dir=_path(base, raw.get("dataset_dir"), f"{where}.dataset_dir"),
    )


def _watch_seconds(value: object, p: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{p}: tick_watch_seconds must be a number of seconds, got {value!r}")
    if not 0 <= value <= MAX_WATCH_SECONDS:
        raise InputError(
            f"{p}: tick_watch_seconds must be between 0 and {MAX_WATCH_SECONDS:g}, got {value}"
        )
    return float(value)


def load_models_config(path: str | os.PathLike) -> ModelsConfig:
    """Parse and validate a models YAML file; every error names the file and the key."""
    p = Path(path)
    raw = load_yaml_file(p, "models config")
    raw = _keys(
        raw,
        {"models", "snapshot_root", "sensor_interval_seconds", "autostart", "tick_watch_seconds"},
        str(p),
    )
    base = p.resolve().parent
    models_raw = raw.get("models") or []
    if not isinstance(models_raw, list):
        raise InputError(f"{p}: 'models' must be a list")
    models = [_model(m, base, f"{p}: models[{i}]") for i, m in enumerate(models_raw)]
    ids = [m.model_id for m in models]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(f"{p}: model id(s) listed twice: {', '.join(dupes)}")
    # Sensor names and resource keys allow only [A-Za-z0-9_], so '.' and '-' become '_'.
    keys = [re.sub(r"\W", "_", i) for i in ids]
    clash = sorted({i for i, k in zip(ids, keys, strict=True) if keys.count(k) > 1})
    if clash:
        raise InputError(f"{p}: model ids {', '.join(clash)} differ only in '.', '-' or '_'")
    interval = os.environ.get(INTERVAL_ENV) or raw.get("sensor_interval_seconds")
    try:
        interval = int(interval or DEFAULT_INTERVAL_SECONDS)
    except ValueError:
        raise InputError(f"sensor interval must be whole seconds, got {interval!r}") from None
    if interval < 1:
        raise InputError(f"sensor interval must be at least 1 second, got {interval}")
    return ModelsConfig(
        models=models,
        snapshot_root=_path(base, raw.get("snapshot_root") or "snapshots", "snapshot_root") or "",
        sensor_interval_seconds=interval,
        autostart=bool(raw.get("autostart", False)),
        tick_watch_seconds=_watch_seconds(raw.get("tick_watch_seconds", 0), p),
    )


def models_config_path() -> Path:
    """$VERIFILY_MODELS_CONFIG, else config/models.yaml relative to the working directory."""
    return Path(os.environ.get(MODELS_CONFIG_ENV) or DEFAULT_MODELS_CONFIG)


def configured_models(path: str | os.PathLike | None = None) -> ModelsConfig:
    """The models file's content; empty when the default file does not exist.

    A file named by VERIFILY_MODELS_CONFIG (or `path`) must exist: a typo is an error naming
    it, not silently no models.
    """
    explicit = path is not None or bool(os.environ.get(MODELS_CONFIG_ENV))
    p = Path(path) if path is not None else models_config_path()
    if not explicit and not p.is_file():
        return ModelsConfig()
    return load_models_config(p)


def configured_model_ids(path: str | os.PathLike | None = None) -> list[str]:
    """Model ids in file order; [] when the file does not exist.

    Raises InputError naming the file and the problem, exactly as loading the code location
    would (the same parser validates both).
    """
    p = Path(path) if path is not None else models_config_path()
    if not p.is_file():
        return []
    return [m.model_id for m in load_models_config(p).models]
