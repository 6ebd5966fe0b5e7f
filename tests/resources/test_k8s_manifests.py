"""Every manifest we produce or ship validates against the Kubernetes OpenAPI schema (the
kubernetes-validate package, strict: unknown fields are errors), and the Helm values hang
together with the manifests and the settings the code location reads."""

from pathlib import Path
from types import SimpleNamespace

import kubernetes
import kubernetes_validate
import pytest
import yaml
from dagster_k8s import DagsterK8sJobConfig, construct_dagster_k8s_job
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import UserDefinedDagsterK8sConfig, get_user_defined_k8s_config

from resources.k8s import LIGHT_STEP_RESOURCES, K8sStepSettings
from verifily.feeds.window import DataWindow
from verifily_assets.definitions import defs

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S_VERSION = kubernetes_validate.latest_version()
LAUNCHER = SimpleNamespace(  # the K8sRunLauncher attributes the executor reads for step Jobs
    job_image=None,
    dagster_home="/opt/dagster/dagster_home",
    instance_config_map="verifily-dagster-instance",
    postgres_password_secret="verifily-postgresql",
)


def validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def step_job(settings: K8sStepSettings, op_name: str, op_tags: dict) -> dict:
    """A step Job composed the way k8s_job_executor composes it (executor config, then the
    op's dagster-k8s/config tag), serialized as the client sends it."""
    cfg = settings.executor_config(
        model_id="iris",
        mlflow_run_id="r1",
        window=DataWindow(0, 50, "2026-11-01T10:00:00Z"),
        env={},
    )
    ctx = K8sContainerContext(
        image_pull_policy=cfg["image_pull_policy"],
        image_pull_secrets=cfg.get("image_pull_secrets"),
        service_account_name=cfg["service_account_name"],
        env_vars=cfg["env_vars"],
        volume_mounts=cfg["volume_mounts"],
        volumes=cfg["volumes"],
        labels=cfg["labels"],
        namespace=cfg["job_namespace"],
        resources=cfg["resources"],
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(cfg["step_k8s_config"]),
    ).merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(op_tags)))
    job_config: DagsterK8sJobConfig = ctx.get_k8s_job_config(cfg["job_image"], LAUNCHER)
    job = construct_dagster_k8s_job(
        job_config=job_config,
        args=["dagster", "api", "execute_step"],
        job_name="dagster-step-0123456789abcdef0123456789abcdef",
        pod_name="dagster-step-0123456789abcdef0123456789abcdef",
        component="step_worker",
        user_defined_k8s_config=ctx.run_k8s_config,
        labels={"dagster/job": "retrain_job", "dagster/op": op_name, "dagster/run-id": "abc"},
        env_vars=[{"name": "DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS", "value": "x"}],
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


def ops_with_tags() -> list[tuple[str, dict]]:
    job = defs.resolve_job_def("retrain_job")
    return [(node.name, dict(node.tags)) for node in job.graph.nodes]


SETTINGS = [
    K8sStepSettings(image="reg.example/verifily:1"),
    K8sStepSettings(
        image="reg.example/verifily:1",
        namespace="ml",
        image_pull_policy="Always",
        image_pull_secrets=["regcred"],
        shared_mount="/data",
        kubeconfig_file="/etc/kube/config",
        signing_key_secret="verifily-signing-key",
    ),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=["defaults", "everything-set"])
def test_every_step_job_validates(settings):
    ops = ops_with_tags()
    assert {name for name, _ in ops} >= {"dataset_artifact", "retrain_run", "decision"}
    for name, tags in ops:
        job = step_job(settings, name, tags)
        validate(job)
        container = job["spec"]["template"]["spec"]["containers"][0]
        # Every step has requests and limits: a compute ResourceQuota rejects pods without.
        assert container["resources"]["requests"]["memory"], name
        assert container["resources"]["limits"]["memory"], name
        if tags.get("verifily/heavy") == "true":
            assert container["resources"] != LIGHT_STEP_RESOURCES, name
        assert job["spec"]["backoffLimit"] == 0


def test_a_broken_step_config_would_be_caught():
    """The validator is strict enough to catch what a typo in our settings would produce."""
    job = step_job(SETTINGS[0], "retrain_run", dict(ops_with_tags())["retrain_run"])
    job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["gpu"] = {"x": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job)
    job = step_job(SETTINGS[0], "retrain_run", {})
    job["spec"]["backofLimit"] = 0
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job)


def shipped_manifests() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [(f"{path.name}:{d['kind']}", d) for d in yaml.safe_load_all(path.read_text())]
    return docs


@pytest.mark.parametrize(
    "name, doc", shipped_manifests(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_shipped_manifests_validate(name, doc):
    validate(doc)


def values() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


# Field names of the Dagster chart's values schema (helm/dagster/schema in the dagster repo,
# 1.13): helm is not installed here, so unknown keys are caught by these lists instead.
TOP_LEVEL = {
    "dagsterWebserver", "dagster-user-deployments", "postgresql",
    "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
    "flower", "ingress", "imagePullSecrets", "computeLogManager", "scheduler", "runLauncher",
    "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry", "serviceAccount",
    "global", "retention", "additionalInstanceConfig",
}  # fmt: skip
USER_DEPLOYMENT = {
    "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
    "port", "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity",
    "tolerations", "podSecurityContext", "securityContext", "resources", "livenessProbe",
    "readinessProbe", "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName",
}  # fmt: skip
K8S_RUN_LAUNCHER = {
    "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
    "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
    "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig",
}  # fmt: skip
QUEUED = {
    "maxConcurrentRuns", "tagConcurrencyLimits", "dequeueIntervalSeconds",
    "dequeueNumWorkers", "dequeueUseThreads",
}  # fmt: skip
GLOBAL = {
    "postgresqlSecretName", "dagsterHome", "serviceAccountName", "celeryConfigSecretName",
    "dagsterInstanceConfigMap",
}  # fmt: skip


def test_helm_values_use_only_chart_fields():
    v = values()
    assert set(v) <= TOP_LEVEL, set(v) - TOP_LEVEL
    assert set(v["global"]) <= GLOBAL
    for dep in v["dagster-user-deployments"]["deployments"]:
        assert set(dep) <= USER_DEPLOYMENT, set(dep) - USER_DEPLOYMENT
        assert {"name", "image", "port"} <= set(dep)
    launcher = v["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert set(launcher["config"]["k8sRunLauncher"]) <= K8S_RUN_LAUNCHER
    coordinator = v["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    assert set(coordinator["config"]["queuedRunCoordinator"]) <= QUEUED
    assert v["dagsterDaemon"]["runMonitoring"]["enabled"] is True
    assert v["postgresql"]["enabled"] is False and v["postgresql"]["postgresqlHost"]


def test_helm_values_kubernetes_pieces_validate_in_a_pod():
    v = values()
    dep = v["dagster-user-deployments"]["deployments"][0]
    launcher = v["runLauncher"]["config"]["k8sRunLauncher"]
    container = {
        "name": "x",
        "image": f"{dep['image']['repository']}:{dep['image']['tag']}",
        "env": dep["env"],
        "volumeMounts": dep["volumeMounts"],
        "resources": dep["resources"],
    }
    run_container = {"name": "run", "image": "x", **launcher["runK8sConfig"]["containerConfig"]}
    validate(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "values-check", "labels": launcher["labels"]},
            "spec": {"containers": [container, run_container], "volumes": dep["volumes"]},
        }
    )
    job_spec = {"template": {"spec": {"containers": [run_container]}}}
    job_spec.update(launcher["runK8sConfig"]["jobSpecConfig"])
    validate({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": job_spec})


def test_helm_values_agree_with_the_manifests_and_the_settings():
    v = values()
    dep = v["dagster-user-deployments"]["deployments"][0]
    env = {e["name"]: e["value"] for e in dep["env"] if "value" in e}
    settings = K8sStepSettings.from_env(env)  # the code location accepts what we ship
    assert env["VERIFILY_EXECUTOR"] == "k8s"
    assert settings.image == f"{dep['image']['repository']}:{dep['image']['tag']}"
    manifests = dict(shipped_manifests())
    pvc = manifests["retraining.yaml:PersistentVolumeClaim"]
    assert pvc["metadata"]["name"] == settings.shared_claim
    assert pvc["metadata"]["namespace"] == settings.namespace
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]
    assert manifests["retraining.yaml:ServiceAccount"]["metadata"]["name"] == (
        settings.service_account
    )
    binding = manifests["retraining.yaml:RoleBinding"]
    assert binding["subjects"][0]["name"] == v["global"]["serviceAccountName"]
    mount = {m["name"]: m["mountPath"] for m in dep["volumeMounts"]}
    claim = {
        vol["name"]: vol["persistentVolumeClaim"]["claimName"]
        for vol in dep["volumes"]
        if "persistentVolumeClaim" in vol
    }
    assert any(
        claim[n] == settings.shared_claim and mount[n] == settings.shared_mount for n in claim
    )
    # The per-model concurrency limit keys on the tag every launcher sets.
    limits = v["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert any(t["key"] == "verifily/model_id" for t in limits["tagConcurrencyLimits"])
    # The signing key: its Secret is mounted in the code server (and so the run workers) at
    # the path VERIFILY_SIGNING_KEY names, and forwarded as a volume into every step pod.
    secret = {vol["name"]: vol["secret"]["secretName"] for vol in dep["volumes"] if "secret" in vol}
    assert settings.signing_key_secret in secret.values()
    (name,) = [n for n, s in secret.items() if s == settings.signing_key_secret]
    key_mount = next(m for m in dep["volumeMounts"] if m["name"] == name)
    assert key_mount["readOnly"] is True
    assert env["VERIFILY_SIGNING_KEY"].startswith(key_mount["mountPath"] + "/")
    # The ledger and the keys' trusted/ directory live on the shared claim, not in one pod.
    assert env["VERIFILY_STATE_DIR"].startswith(settings.shared_mount + "/")
    # Promotion locks in the deployment's PostgreSQL, whose URL comes from a Secret that the
    # step pods get too.
    assert any(s["name"] in settings.env_secrets for s in dep["envSecrets"])
    mlflow = manifests["mlflow.yaml:Service"]
    host = f"{mlflow['metadata']['name']}.{mlflow['metadata']['namespace']}.svc.cluster.local"
    assert env["MLFLOW_TRACKING_URI"] == f"http://{host}:{mlflow['spec']['ports'][0]['port']}"


def test_dockerfile_copies_every_package_the_distribution_ships():
    text = (DEPLOY / "Dockerfile").read_text()
    copied = {line.split()[1] for line in text.splitlines() if line.startswith("COPY ")}
    for src in copied:
        assert (REPO / src).exists(), src
    import tomllib

    include = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    packages = {p.rstrip("*") for p in include}
    present = {p for p in packages if (REPO / p).is_dir()}
    assert present <= copied, present - copied
