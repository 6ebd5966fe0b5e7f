"""What a retrain run says about itself: what it materialized, why it failed, its feed window."""

from __future__ import annotations

import dagster as dg

from verifily.feeds.window import DataWindow


def materializations(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict]:
    """Asset key -> metadata values of what the run materialized."""
    out: dict[str, dict] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        if mat is not None:
            out[mat.asset_key.to_user_string()] = {
                k: v.value for k, v in (mat.metadata or {}).items()
            }
    return out


def run_error(instance: dg.DagsterInstance, run_id: str) -> dict | None:
    """{message, step} of the run's first failed step (its own message), else of the run."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = entry.dagster_event.step_failure_data if entry.dagster_event else None
        if data is None:
            continue
        ufd = data.user_failure_data
        msg = (ufd.description if ufd else None) or (
            data.error.message.strip() if data.error else "step failed"
        )
        return {"message": msg, "step": entry.step_key}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE):
        return {"message": entry.message or "run failed", "step": None}
    return None


def window_record(window: DataWindow) -> dict:
    """A feed window as the job record shows it: record range, time span, the feed's words."""
    return {
        "from": window.first,
        "to": window.last,
        "start": window.start,
        "end": window.end,
        "feed": window.feed,
    }
