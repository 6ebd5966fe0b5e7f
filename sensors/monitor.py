"""Monitor gates: retrain a project when its latest decision is SHIP and every gate passed."""

import os
from collections.abc import Mapping

import dagster as dg

from resources.deployment import VerifilySettings
from sensors.target import RetrainTarget, add_model_partitions
from verifily.config.monitors import GATES, MonitorConfig, evaluate_monitor, sensor_key
from verifily.tags import (
    MONITOR_ID,
    RETRAIN_RUN_DIR,
    RETRAIN_SUBMITTED,
    SOURCE_RUN_ID,
    TRIGGER,
    TRIGGER_MONITOR,
)

DECISION = dg.AssetKey("decision")
GATE_ASSETS = {"contamination_gate": "contamination_report", "run_contract": "decision"}


def gate_results(instance: dg.DagsterInstance, run_id: str) -> dict[str, bool | None]:
    """The gate check results recorded in the run that produced the decision (None if absent).

    The gates of a decision are the checks of the same run: a later run's checks say nothing
    about this decision, and an older pass must not vouch for it.
    """
    found: dict[str, bool | None] = {name: None for name in GATES}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        if entry.dagster_event is None:
            continue
        ev = entry.dagster_event.asset_check_evaluation_data
        if GATE_ASSETS.get(ev.check_name) == ev.asset_key.to_user_string():
            found[ev.check_name] = bool(ev.passed) and found[ev.check_name] is not False
    return found


def _text(metadata: Mapping[str, object], key: str) -> str | None:
    v = metadata.get(key)
    return None if v is None else str(getattr(v, "value", v))


def build_monitor_sensor(
    mon: MonitorConfig, target: RetrainTarget, interval: int, autostart: bool = False
) -> dg.SensorDefinition:
    """One sensor per monitor; it acts at most once per decision materialization.

    Like the record-count sensors it starts STOPPED unless the models config says
    `autostart: true`: an automatic retrainer is something a person switches on.
    """

    @dg.sensor(
        name=f"monitor_{sensor_key(mon.monitor_id)}",
        job=target.job,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING
        if autostart
        else dg.DefaultSensorStatus.STOPPED,
        description=f"Retrain {mon.project_id} when its gates pass and its decision is SHIP.",
    )
    def _sensor(context: dg.SensorEvaluationContext, settings: VerifilySettings):
        inst = context.instance
        records = inst.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=DECISION, asset_partitions=[mon.project_id]), limit=1
        ).records
        if not records:
            return dg.SensorResult(
                skip_reason=f"{mon.monitor_id}: no decision yet for {mon.project_id}"
            )
        rec = records[0]
        if rec.storage_id <= int(context.cursor or 0):
            return dg.SensorResult(
                skip_reason=f"{mon.monitor_id}: decision {rec.storage_id} of {mon.project_id} "
                "already handled"
            )
        mat = rec.asset_materialization
        metadata = mat.metadata if mat is not None else {}
        recommendation = _text(metadata, "recommendation")
        gates = gate_results(inst, rec.run_id)
        outcome = evaluate_monitor(mon, recommendation, gates)
        source_run = inst.get_run_by_id(rec.run_id)
        if outcome.retrain and source_run and source_run.tags.get(TRIGGER) == TRIGGER_MONITOR:
            # Its own retrain's SHIP must not trigger another retrain, forever.
            outcome = outcome.__class__(False, ["decision came from a monitor-triggered retrain"])
        out_root = os.path.abspath(settings.output_root)
        # The run number is claimed when the run starts; until then the directory it lands in.
        retrain_run_dir = os.path.join(out_root, "retrain_NNNN")
        summary = {
            "monitor_id": mon.monitor_id,
            "decision_storage_id": rec.storage_id,
            "decision_run_id": rec.run_id,
            "decision_run_dir": _text(metadata, "run_dir") or "",
            "recommendation": recommendation or "missing",
            **{
                f"gate_{k}": {True: "pass", False: "FAIL", None: "no result"}[v]
                for k, v in gates.items()
            },  # fmt: skip
            "retrain_submitted": outcome.retrain,
            "retrain_run_dir": retrain_run_dir if outcome.retrain else "",
            "reasons": "; ".join(outcome.reasons),
        }
        observation = dg.AssetObservation(
            asset_key=DECISION, partition=mon.project_id, metadata=summary
        )
        cursor = str(rec.storage_id)
        if not outcome.retrain:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    f"{mon.monitor_id}: retrain_submitted=False ({summary['reasons']})"
                ),
                cursor=cursor,
                asset_events=[observation],
            )
        config = {"dataset_dir": mon.retrain_dataset_dir, "project_id": mon.project_id}
        if mon.config_path:
            config["pipeline_config"] = mon.config_path
        context.log.info(
            f"{mon.monitor_id}: retrain_submitted=True retrain_run_dir={retrain_run_dir}"
        )
        return dg.SensorResult(
            run_requests=[
                target.run_request(
                    config,
                    model_id=mon.project_id,
                    trigger=TRIGGER_MONITOR,
                    run_key=f"monitor:{mon.monitor_id}:{rec.storage_id}",
                    extra_tags={
                        MONITOR_ID: mon.monitor_id,
                        RETRAIN_SUBMITTED: "true",
                        SOURCE_RUN_ID: rec.run_id,
                        RETRAIN_RUN_DIR: retrain_run_dir,
                    },
                )
            ],
            cursor=cursor,
            asset_events=[observation],
            dynamic_partitions_requests=[add_model_partitions([mon.project_id])],
        )

    return _sensor
