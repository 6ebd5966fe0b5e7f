"""The monitor sensor reads real check results and decisions from a Dagster instance.

The gate results are produced by stand-in assets with the real asset keys and check names
(`contamination_report`/`contamination_gate`, `decision`/`run_contract`), materialized on the
test's instance, so each gate can be made to fail on its own.
"""

import dagster as dg
import pytest

from resources.deployment import VerifilySettings
from sensors.monitor import build_monitor_sensor
from verifily.config.monitors import MonitorConfig, load_monitors
from verifily.errors import InputError
from verifily_assets.definitions import RETRAIN_TARGET
from verifily_assets.partitions import MODEL_PARTITIONS


class Outcome(dg.Config):
    contamination_ok: bool = True
    contract_ok: bool = True
    recommendation: str = "SHIP"


@dg.asset(
    name="contamination_report",
    partitions_def=MODEL_PARTITIONS,
    check_specs=[dg.AssetCheckSpec("contamination_gate", asset="contamination_report")],
)
def contamination_report(config: Outcome):
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(check_name="contamination_gate", passed=config.contamination_ok)
        ]
    )


@dg.asset(
    name="decision",
    partitions_def=MODEL_PARTITIONS,
    deps=[contamination_report],
    check_specs=[dg.AssetCheckSpec("run_contract", asset="decision")],
)
def decision(config: Outcome):
    return dg.MaterializeResult(
        metadata={"recommendation": config.recommendation, "run_dir": "/runs/retrain_0001"},
        check_results=[dg.AssetCheckResult(check_name="run_contract", passed=config.contract_ok)],
    )


def produce(instance, tags=None, with_contamination=True, **outcome) -> None:
    """One run that materializes the gates (or only the decision) for project iris."""
    cfg = {"config": outcome}
    ops = {"decision": cfg}
    if with_contamination:
        ops["contamination_report"] = cfg
    result = dg.materialize(
        [contamination_report, decision],
        instance=instance,
        partition_key="iris",
        run_config={"ops": ops},
        tags=tags,
        selection=None if with_contamination else ["decision"],
    )
    assert result.success


@pytest.fixture
def instance():
    """In-memory instance: these tests only need the event log, and many runs in it."""
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def monitor(instance, tmp_path):
    instance.add_dynamic_partitions(MODEL_PARTITIONS.name, ["iris"])

    def tick(cursor=None, allow_retrain=True):
        mon = MonitorConfig(
            monitor_id="m1",
            project_id="iris",
            allow_retrain=allow_retrain,
            retrain_dataset_dir=str(tmp_path / "ds"),
        )
        sensor = build_monitor_sensor(mon, RETRAIN_TARGET, 5)
        ctx = dg.build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={"settings": VerifilySettings(output_root=str(tmp_path / "runs"))},
        )
        return sensor(ctx)

    return tick


def observed(result) -> dict:
    (obs,) = result.asset_events
    assert obs.asset_key == dg.AssetKey("decision") and obs.partition == "iris"
    return {k: v.value for k, v in obs.metadata.items()}


@pytest.mark.parametrize(
    "outcome,reason",
    [
        ({"contamination_ok": False}, "gate contamination_gate failed"),
        ({"contract_ok": False}, "gate run_contract failed"),
        ({"recommendation": "DONT_SHIP"}, "decision is DONT_SHIP, not SHIP"),
        ({"with_contamination": False}, "gate contamination_gate has no result"),
    ],
)
def test_each_failing_gate_alone_blocks_the_retrain(instance, monitor, outcome, reason):
    produce(instance, **outcome)
    result = monitor()
    assert not result.run_requests
    assert reason in result.skip_reason.skip_message
    assert "retrain_submitted=False" in result.skip_reason.skip_message
    seen = observed(result)
    assert seen["retrain_submitted"] is False and reason in seen["reasons"]


def test_allow_retrain_false_blocks(instance, monitor):
    produce(instance)
    result = monitor(allow_retrain=False)
    assert not result.run_requests
    assert "allow_retrain is false" in result.skip_reason.skip_message


def test_all_pass_requests_exactly_one_retrain_per_decision(instance, monitor, tmp_path):
    produce(instance)
    first = monitor()
    assert len(first.run_requests) == 1
    req = first.run_requests[0]
    assert req.partition_key == "iris"
    assert req.run_config["ops"]["dataset_artifact"]["config"]["dataset_dir"] == str(
        tmp_path / "ds"
    )
    assert req.tags["verifily/trigger"] == "monitor"
    assert req.tags["verifily/retrain_submitted"] == "true"
    seen = observed(first)
    assert seen["retrain_submitted"] is True
    assert seen["retrain_run_dir"].startswith(str(tmp_path / "runs"))
    assert seen["gate_contamination_gate"] == "pass" and seen["gate_run_contract"] == "pass"

    again = monitor(cursor=first.cursor)
    assert not again.run_requests and "already handled" in again.skip_reason.skip_message

    produce(instance)
    second = monitor(cursor=first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != req.run_key


def test_gates_of_an_older_run_do_not_vouch_for_a_new_decision(instance, monitor):
    produce(instance)
    produce(instance, with_contamination=False)
    result = monitor()
    assert not result.run_requests
    assert "contamination_gate has no result" in result.skip_reason.skip_message


def test_monitor_triggered_decision_does_not_retrigger(instance, monitor):
    produce(instance, tags={"verifily/trigger": "monitor"})
    result = monitor()
    assert not result.run_requests
    assert "monitor-triggered" in result.skip_reason.skip_message


def test_no_decision_yet(monitor):
    result = monitor()
    assert not result.run_requests
    assert "no decision yet" in result.skip_reason.skip_message


def test_monitors_yaml_loads_and_names_bad_keys(tmp_path):
    p = tmp_path / "monitors.yaml"
    p.write_text(
        "monitors:\n  - {monitor_id: m1, project_id: iris, allow_retrain: true,"
        " retrain_dataset_dir: ds}\n"
    )
    (mon,) = load_monitors(p)
    assert mon.allow_retrain and mon.retrain_dataset_dir == str(tmp_path / "ds")
    p.write_text("monitors:\n  - {monitor_id: m1, project_id: iris, allow_retrian: true}\n")
    with pytest.raises(Exception, match="unknown key.*allow_retrian"):
        load_monitors(p)


def test_a_monitor_id_with_dots_or_dashes_still_names_a_valid_sensor(tmp_path):
    """An id the rule allows must not break the code location (Dagster names are \\w only)."""
    monitors = tmp_path / "monitors.yaml"
    monitors.write_text("monitors:\n  - {monitor_id: iris-v2.nightly, project_id: iris.v2}\n")
    (mon,) = load_monitors(monitors)
    assert build_monitor_sensor(mon, RETRAIN_TARGET, 30).name == "monitor_iris_v2_nightly"
    monitors.write_text(
        "monitors:\n  - {monitor_id: a-b, project_id: x}\n  - {monitor_id: a_b, project_id: y}\n"
    )
    with pytest.raises(InputError, match="differs from another only in"):
        load_monitors(monitors)
