"""Set-up shared by the stand-in tests: the fake cluster, an instance configured with the
K8sRunLauncher against it, the run worker process, and the step watchdog ticking meanwhile."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg

from resources.k8s import K8sStepSettings
from sensors.k8s_step_watch import k8s_step_watch
from tests.support.fake_k8s.server import FakeCluster, FakeK8sServer

IMAGE = "verifily/user-code:test"
NAMESPACE = "verifily-test"
CLAIM = "verifily-runs"
WORKER = Path(__file__).with_name("run_worker.py")
REPO = Path(__file__).resolve().parents[3]


def instance_yaml(home: Path, kubeconfig: Path) -> str:
    """dagster.yaml like the one we ship (deploy/), with SQLite storage and the stand-in."""
    return (
        "telemetry:\n  enabled: false\n"
        "run_launcher:\n  module: dagster_k8s\n  class: K8sRunLauncher\n  config:\n"
        f"    load_incluster_config: false\n    kubeconfig_file: {kubeconfig}\n"
        f"    job_namespace: {NAMESPACE}\n    instance_config_map: dagster-instance\n"
        f"    dagster_home: {home}\n    service_account_name: verifily-retrain\n"
        f"    job_image: {IMAGE}\n"
        "run_monitoring:\n  enabled: true\n  start_timeout_seconds: 180\n"
        "  max_resume_run_attempts: 0\n  poll_interval_seconds: 30\n"
    )


class Standin:
    """One fake cluster + instance for one test."""

    def __init__(self, tmp: Path, faults=None, env_overrides=None):
        self.tmp = tmp
        self.home = tmp / "dagster_home"
        self.shared = tmp / "shared"
        self.home.mkdir()
        self.shared.mkdir()
        image_env = {
            k: os.environ[k] for k in ("PATH", "PYTHONPATH", "HOME", "LANG") if k in os.environ
        }
        self.cluster = FakeCluster(
            workdir=tmp,
            images={IMAGE},
            mounts={("pvc", CLAIM): str(self.shared)},
            image_env=image_env,
            faults=faults or {},
            env_overrides=env_overrides or {},
        )
        self.server = FakeK8sServer(self.cluster)
        self.kubeconfig = self.server.write_kubeconfig(tmp / "kubeconfig", NAMESPACE)
        (self.home / "dagster.yaml").write_text(instance_yaml(self.home, self.kubeconfig))
        self.extra_env: dict[str, str] = {}

    def env(self, image: str = IMAGE) -> dict:
        return {
            **os.environ,
            **self.extra_env,
            "DAGSTER_HOME": str(self.home),
            "VERIFILY_EXECUTOR": "k8s",
            "RETRAINING_IMAGE": image,
            "RETRAINING_NAMESPACE": NAMESPACE,
            "RETRAINING_SERVICE_ACCOUNT": "verifily-retrain",
            "RETRAINING_SHARED_CLAIM": CLAIM,
            "RETRAINING_SHARED_MOUNT": str(self.shared),
            "RETRAINING_KUBECONFIG": str(self.kubeconfig),
            "RETRAINING_POD_START_TIMEOUT_SECONDS": "3",
            "RETRAINING_MAX_RUNTIME_SECONDS": "300",
            # The executor polls the event log this often; 1s by default.
            "DAGSTER_STEP_DELEGATING_EXECUTOR_SLEEP_SECONDS": "0.25",
        }

    def settings(self) -> K8sStepSettings:
        """The settings the run worker and the watchdog see."""
        return K8sStepSettings.from_env(self.env())

    def run(self, model_id: str, dataset_dir: Path, image: str = IMAGE, timeout: int = 240):
        """Execute retrain_job through the stand-in as the CLI's launcher builds it (run config
        and tags from the code location's one builder, in the worker's k8s environment); the
        watchdog ticks until the worker exits."""
        spec = {"model_id": model_id, "fields": {"dataset_dir": str(dataset_dir)}}
        return self._execute(spec, image, timeout)

    def run_sensor(self, sensor_name: str, image: str = IMAGE, timeout: int = 240):
        """One tick of the code location's sensor in the worker's environment, then the run it
        requested, executed through the stand-in with the request's own config and tags."""
        return self._execute({"sensor": sensor_name}, image, timeout)

    def _execute(self, spec: dict, image: str, timeout: int):
        done = threading.Event()
        instance = dg.DagsterInstance.from_config(str(self.home))
        settings = K8sStepSettings.from_env(self.env(image))
        ticks: list = []

        def watchdog() -> None:
            cursor = None
            while not done.wait(0.5):
                ctx = dg.build_sensor_context(
                    instance=instance, cursor=cursor, resources={"k8s": settings}
                )
                try:
                    result = k8s_step_watch(ctx)
                except Exception as e:  # kept for the assertion message, not swallowed
                    ticks.append(f"watchdog error: {e!r}")
                    continue
                cursor = result.cursor
                ticks.append(result.skip_reason.skip_message if result.skip_reason else "")

        thread = threading.Thread(target=watchdog, daemon=True)
        with self.server:
            thread.start()
            try:
                proc = subprocess.run(
                    [sys.executable, str(WORKER), json.dumps(spec)],
                    env=self.env(image),
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            finally:
                done.set()
                thread.join(timeout=10)
        assert proc.returncode == 0, proc.stderr[-3000:]
        errors = [t for t in ticks if t.startswith("watchdog error")]
        assert not errors, errors[:3]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        return instance, instance.get_run_by_id(out["run_id"]), ticks

    def jobs_by_op(self) -> dict[str, list[dict]]:
        by_op: dict[str, list[dict]] = {}
        for job in self.cluster.created_jobs:
            by_op.setdefault(job["metadata"]["labels"]["dagster/op"], []).append(job)
        return by_op
