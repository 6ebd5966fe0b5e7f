"""The record-count trigger: retrain a model once `min_records` new records are in its feed."""

import json
import time

import dagster as dg

from resources.feeds import FeedDataFetcher
from sensors.target import RetrainTarget, add_model_partitions
from verifily.config.models import ModelsConfig, ModelSpec
from verifily.feeds import FeedError
from verifily.feeds.snapshot import snapshot_window, window_dir, with_eval_set
from verifily.feeds.window import DataWindow, utc_iso
from verifily.tags import DATASET_HASH, TRIGGER_RECORD_COUNT

# How often a watching tick looks at its feed again; a look reads only the bytes or rows after
# the cursor, so this costs a few stat calls (JSONL) or one small query (SQL).
WATCH_POLL_SECONDS = 0.2


def feed_key(model_id: str) -> str:
    """The resource key of a model's feed in the Definitions."""
    return "feed_" + "".join(c if c.isalnum() else "_" for c in model_id)


def parse_cursor(raw: str | None) -> dict | None:
    """The stored cursor, or None before the first tick; a damaged cursor is an error, not 0."""
    if not raw:
        return None
    try:
        cur = json.loads(raw)
    except ValueError:
        cur = None
    if not isinstance(cur, dict) or cur.get("v") != 1 or not isinstance(cur.get("p"), dict):
        raise FeedError(f"record-count sensor cursor is damaged: {raw[:200]!r}")
    return cur


def dump_cursor(position: dict, n: int, cut_at: str | None) -> str:
    """Compact: the feed position, how many records have been consumed since the start, and
    when the last window was cut (the start of the next window's time span)."""
    cur = {"v": 1, "p": position, "n": n, **({"t": cut_at} if cut_at else {})}
    return json.dumps(cur, separators=(",", ":"), sort_keys=True)


def feed_window(feed: FeedDataFetcher, start: dict, end: dict, n0: int, count: int, since):
    """The window between two positions: its records' range and when they arrived.

    Feeds that stamp records (SQL `ingested_at`) give the span themselves; otherwise it runs
    from when the previous window was cut (`since`) to now.
    """
    described = feed.describe_window(start, end)
    return DataWindow(
        first=n0,
        last=n0 + count,
        start=described.get("ingested_from") or since,
        end=described.get("ingested_to") or utc_iso(),
        feed=described,
    )


def window_run_request(
    model: ModelSpec,
    snapshot_root: str,
    feed,
    target: RetrainTarget,
    window: DataWindow,
    start,
    end,
) -> dg.RunRequest:
    """Snapshot the window and build its run request (the run_key is the window's identity)."""
    n0, n1 = window.first, window.last
    records = with_eval_set(feed.read_window(start, end), model.eval_set)
    info = snapshot_window(records, window_dir(snapshot_root, model.model_id, n0, n1))
    fields = {
        "dataset_dir": info.path,
        "project_id": model.model_id,
        "mode": model.mode,
        "notes": f"record-count trigger: records {n0}-{n1} of the feed",
        "pipeline_config": model.pipeline_config,
        "output_dir": model.output_dir,
    }
    return target.run_request(
        fields,
        model_id=model.model_id,
        trigger=TRIGGER_RECORD_COUNT,
        run_key=f"{model.model_id}:{n0}-{n1}:{info.dataset_hash[:16]}",
        window=window,
        extra_tags={DATASET_HASH: info.dataset_hash},
    )


def build_record_count_sensor(
    model: ModelSpec, cfg: ModelsConfig, target: RetrainTarget
) -> dg.SensorDefinition:
    """One sensor per model: cursor -> count new records -> snapshot -> run request."""
    key = feed_key(model.model_id)

    @dg.sensor(
        name=f"record_count_{key[5:]}",
        job=target.job,
        minimum_interval_seconds=cfg.sensor_interval_seconds,
        required_resource_keys={key},
        default_status=(
            dg.DefaultSensorStatus.RUNNING if cfg.autostart else dg.DefaultSensorStatus.STOPPED
        ),
        description=(
            f"Retrain {model.model_id} when {model.min_records} new records are in its feed."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, **resources):
        # The resource key is per model, so it cannot be a named parameter. Direct invocation
        # (unit tests) passes required resources as keyword arguments, the daemon only on the
        # context; accept both.
        feed: FeedDataFetcher = resources.get(key) or getattr(context.resources, key)
        cur = parse_cursor(context.cursor)
        fresh = cur is None
        if cur is None:
            cur = {"p": feed.start_position(model.start_at), "n": 0, "t": utc_iso()}
        pending = feed.pending(cur["p"], model.max_window_records)
        # Dagster's daemon starts a sensor's ticks on a fixed 5 s loop; a tick that keeps
        # watching for most of that loop requests the run when the records arrive instead of
        # at the next loop (tick_watch_seconds, 0 by default).
        deadline = time.monotonic() + cfg.tick_watch_seconds
        while pending.count < model.min_records and time.monotonic() < deadline:
            time.sleep(WATCH_POLL_SECONDS)
            pending = feed.pending(cur["p"], model.max_window_records)
        if pending.count < model.min_records:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    f"{model.model_id}: {pending.count}/{model.min_records} new records "
                    f"(needs {model.min_records - pending.count} more)"
                    + (f"; {pending.note}" if pending.note else "")
                ),
                # A cursor that starts at the feed's end must be kept from the first tick on.
                cursor=dump_cursor(cur["p"], cur["n"], cur.get("t")) if fresh else None,
            )
        window = feed_window(feed, cur["p"], pending.end, cur["n"], pending.count, cur.get("t"))
        req = window_run_request(
            model, cfg.snapshot_root, feed, target, window, cur["p"], pending.end
        )
        context.log.info(f"{model.model_id}: {pending.count} new records -> run {req.run_key}")
        return dg.SensorResult(
            run_requests=[req],
            cursor=dump_cursor(feed.compact(pending.end), window.last, window.end),
            dynamic_partitions_requests=[add_model_partitions([model.model_id])],
        )

    return _sensor
