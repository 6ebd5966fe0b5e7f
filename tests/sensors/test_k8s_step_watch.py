"""The step watchdog sensor against the Kubernetes stand-in: cursor handling and a quiet tick."""

import json

import dagster as dg

from resources.k8s import K8sStepSettings
from sensors.k8s_step_watch import k8s_step_watch
from tests.support.fake_k8s.server import FakeCluster, FakeK8sServer


def test_a_tick_with_no_runs_reports_healthy_and_repairs_a_bad_cursor(tmp_path, instance):
    cluster = FakeCluster(workdir=tmp_path, images=set(), mounts={}, image_env={})
    server = FakeK8sServer(cluster)
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", "ns")
    settings = K8sStepSettings(image="x", namespace="ns", kubeconfig_file=str(kubeconfig))
    with server:
        for cursor in (None, "not json", json.dumps(["uid-1"])):
            ctx = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"k8s": settings}
            )
            result = k8s_step_watch(ctx)
            assert result.skip_reason.skip_message == "all step pods healthy"
            assert json.loads(result.cursor) == (["uid-1"] if cursor and "uid" in cursor else [])
    assert not cluster.unhandled
