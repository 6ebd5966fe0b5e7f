"""The record-count trigger: retrain a model once `min_records` new records are in its feed."""

import json
import time

import dagster as dg

from resources.feeds import FeedDataFetcher
from verifily.feeds import FeedError
from verifily.feeds.snapshot import snapshot_window, window_dir, with_eval_set
from verifily.models_config import ModelsConfig, ModelSpec
from verifily_assets.jobs import retrain_job
from verifily_assets.partitions import MODEL_PARTITIONS

TRIGGER = "record_count"
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


def dump_cursor(position: dict, n: int) -> str:
    """Compact: the feed position and how many records have been consumed since the start."""
    return json.dumps({"v": 1, "p": position, "n": n}, separators=(",", ":"), sort_keys=True)


def window_run_request(model: ModelSpec, snapshot_root: str, feed, start, end, n0, count):
    """Snapshot the window and build its run request (the run_key is the window's identity)."""
    n1 = n0 + count
    records = with_eval_set(feed.read_window(start, end), model.eval_set)
    info = snapshot_window(records, window_dir(snapshot_root, model.model_id, n0, n1))
    described = feed.describe_window(start, end)
    config = {
        "dataset_dir": info.path,
        "project_id": model.model_id,
        "mode": model.mode,
        "notes": f"record-count trigger: records {n0}-{n1} of the feed",
    }
    if model.pipeline_config:
        config["pipeline_config"] = model.pipeline_config
    if model.output_dir:
        config["output_dir"] = model.output_dir
    return dg.RunRequest(
        run_key=f"{model.model_id}:{n0}-{n1}:{info.dataset_hash[:16]}",
        partition_key=model.model_id,
        run_config={"ops": {"dataset_artifact": {"config": config}}},
        tags={
            "verifily/model_id": model.model_id,
            "verifily/trigger": TRIGGER,
            "verifily/window_from": str(n0),
            "verifily/window_to": str(n1),
            "verifily/record_count": str(count),
            "verifily/dataset_hash": info.dataset_hash,
            "verifily/window": json.dumps(described, sort_keys=True)[:1000],
        },
    )


def build_record_count_sensor(model: ModelSpec, cfg: ModelsConfig) -> dg.SensorDefinition:
    """One sensor per model: cursor -> count new records -> snapshot -> run request."""
    key = feed_key(model.model_id)

    @dg.sensor(
        name=f"record_count_{key[5:]}",
        job=retrain_job,
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
        if fresh:
            cur = {"p": feed.start_position(model.start_at), "n": 0}
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
                cursor=dump_cursor(cur["p"], cur["n"]) if fresh else None,
            )
        req = window_run_request(
            model, cfg.snapshot_root, feed, cur["p"], pending.end, cur["n"], pending.count
        )
        context.log.info(f"{model.model_id}: {pending.count} new records -> run {req.run_key}")
        return dg.SensorResult(
            run_requests=[req],
            cursor=dump_cursor(feed.compact(pending.end), cur["n"] + pending.count),
            dynamic_partitions_requests=[MODEL_PARTITIONS.build_add_request([model.model_id])],
        )

    return _sensor
