"""Kubernetes settings for retrain steps: where step Jobs run, what they mount, how long they may
take, and the per-step resources of the heavy steps. Read once, from the environment, by the
composition root; nothing here talks to a cluster."""

import os
import re
from collections.abc import Mapping

import dagster as dg
from pydantic import Field

from verifily.config.locations import SIGNING_KEY_ENV
from verifily.errors import InputError
from verifily.feeds.window import DataWindow, compact_time
from verifily.tags import (
    ENV_DAGSTER_RUN_ID,
    ENV_DATA_WINDOW,
    ENV_MLFLOW_RUN_ID,
    ENV_MODEL_ID,
    LABEL_DATA_WINDOW,
    LABEL_MLFLOW_RUN_ID,
    LABEL_MODEL_ID,
    LABEL_PART_OF,
    LABEL_WINDOW_END,
    LABEL_WINDOW_START,
    OP_HEAVY,
    RUN_SCOPED_ENV,
)

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
SHARED_VOLUME = "verifily-shared"
# The signing key's Secret, mounted read-only into every step pod (the decision signs the run
# directory, the promotion the ledger entry); VERIFILY_SIGNING_KEY names the file in it.
SIGNING_KEY_VOLUME = "verifily-signing-key"
SIGNING_KEY_MOUNT = "/var/run/secrets/verifily"
STEP_JOB_TTL_SECONDS = 3600
# Settings every step pod needs to rebuild the same code location the run worker built (the
# executor, the output root, the IO manager storage, the real-training gate, MLflow): step pods
# do not inherit the code server's environment, so these are forwarded into each step Job.
# Secrets are not forwarded as plain env: name the Kubernetes Secrets in
# RETRAINING_ENV_SECRETS instead.
FORWARDED_PREFIXES = ("VERIFILY_", "RETRAINING_")
FORWARDED_NAMES = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME")
_LABEL_BAD = re.compile(r"[^A-Za-z0-9._-]")


def label_value(value: str) -> str:
    """A Kubernetes label value (<= 63 chars of [A-Za-z0-9._-], alphanumeric at both ends)."""
    cleaned = _LABEL_BAD.sub("_", value)[:63]
    return cleaned.strip("._-")


class K8sStepSettings(dg.ConfigurableResource):
    """Where retrain steps run as Kubernetes Jobs: namespace, image, shared volume and limits."""

    namespace: str = Field("verifily", description="Namespace the step Jobs are created in")
    image: str = Field(description="User-code image the step pods run (same as the code server)")
    service_account: str = Field("verifily-retrain", description="Service account of step pods")
    image_pull_policy: str = Field("IfNotPresent", description="Always, IfNotPresent or Never")
    image_pull_secrets: list[str] = Field(default_factory=list, description="Registry secrets")
    env_secrets: list[str] = Field(
        default_factory=list, description="Secrets whose keys become env in step pods (MLflow)"
    )
    shared_claim: str = Field(
        "verifily-runs", description="PersistentVolumeClaim (ReadWriteMany) every step pod mounts"
    )
    shared_mount: str = Field(
        "/verifily", description="Where the claim is mounted; run dirs and step outputs live here"
    )
    max_runtime_seconds: int = Field(6 * 3600, description="Hard limit on one step Job")
    pod_start_timeout_seconds: int = Field(
        300, description="A step pod not running after this long is failed with its reason"
    )
    kubeconfig_file: str | None = Field(
        None, description="Outside a cluster only (tests, a laptop): kubeconfig to use"
    )
    signing_key_secret: str | None = Field(
        None,
        description=f"Secret holding the signing key, mounted read-only at {SIGNING_KEY_MOUNT}",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "K8sStepSettings":
        """Settings from RETRAINING_* variables; a missing image or a bad value is an InputError."""
        env = os.environ if env is None else env
        image = env.get("RETRAINING_IMAGE", "").strip()
        if not image:
            raise InputError("RETRAINING_IMAGE must name the user-code image for step Jobs")
        policy = env.get("RETRAINING_IMAGE_PULL_POLICY", "IfNotPresent")
        if policy not in PULL_POLICIES:
            raise InputError(
                f"RETRAINING_IMAGE_PULL_POLICY {policy!r} is not one of {', '.join(PULL_POLICIES)}"
            )
        mount = env.get("RETRAINING_SHARED_MOUNT", "/verifily")
        if not os.path.isabs(mount):
            raise InputError(f"RETRAINING_SHARED_MOUNT {mount!r} must be an absolute path")
        secrets = _names(env, "RETRAINING_IMAGE_PULL_SECRETS")
        key_secret = env.get("RETRAINING_SIGNING_KEY_SECRET", "").strip() or None
        key_file = env.get(SIGNING_KEY_ENV, "")
        if key_secret and os.path.dirname(os.path.normpath(key_file)) != SIGNING_KEY_MOUNT:
            raise InputError(
                f"RETRAINING_SIGNING_KEY_SECRET mounts the key at {SIGNING_KEY_MOUNT}; set "
                f"{SIGNING_KEY_ENV} to a file there (e.g. {SIGNING_KEY_MOUNT}/signing.pem), "
                f"got {key_file!r}"
            )
        return cls(
            namespace=env.get("RETRAINING_NAMESPACE", "verifily"),
            image=image,
            service_account=env.get("RETRAINING_SERVICE_ACCOUNT", "verifily-retrain"),
            image_pull_policy=policy,
            image_pull_secrets=secrets,
            env_secrets=_names(env, "RETRAINING_ENV_SECRETS"),
            shared_claim=env.get("RETRAINING_SHARED_CLAIM", "verifily-runs"),
            shared_mount=os.path.normpath(mount),
            max_runtime_seconds=_positive(env, "RETRAINING_MAX_RUNTIME_SECONDS", 6 * 3600),
            pod_start_timeout_seconds=_positive(env, "RETRAINING_POD_START_TIMEOUT_SECONDS", 300),
            kubeconfig_file=env.get("RETRAINING_KUBECONFIG") or None,
            signing_key_secret=key_secret,
        )

    @property
    def output_root(self) -> str:
        """Default run directory root: on the shared claim, so every step pod sees it."""
        return os.path.join(self.shared_mount, "runs")

    @property
    def io_storage(self) -> str:
        """Where the IO manager keeps step outputs: on the shared claim, next to the runs."""
        return os.path.join(self.shared_mount, "dagster-storage")

    def check_output_root(self, output_root: str) -> None:
        """Refuse an output root outside the shared claim: later step pods would not see it."""
        root = os.path.normpath(os.path.abspath(output_root))
        if os.path.commonpath([root, self.shared_mount]) != self.shared_mount:
            raise InputError(
                f"output root {output_root!r} is outside the shared volume mounted at "
                f"{self.shared_mount!r}; step pods would not see each other's run directories"
            )

    def executor_config(
        self,
        model_id: str = "",
        mlflow_run_id: str = "",
        window: DataWindow | None = None,
        env: Mapping[str, str] | None = None,
    ) -> dict:
        """The k8s_job_executor config for one run: image, namespace, volume, labels, limits."""
        env = os.environ if env is None else env
        run_labels = {LABEL_MODEL_ID: model_id, LABEL_MLFLOW_RUN_ID: mlflow_run_id}
        if window is not None:
            run_labels[LABEL_DATA_WINDOW] = f"{window.first}-{window.last}"
            run_labels[LABEL_WINDOW_START] = compact_time(window.start or "")
            run_labels[LABEL_WINDOW_END] = compact_time(window.end or "")
        labels = {LABEL_PART_OF: "verifily"}
        labels.update({k: label_value(v) for k, v in run_labels.items() if label_value(v)})
        forwarded = [
            f"{k}={env[k]}"
            for k in sorted(env)
            if (k.startswith(FORWARDED_PREFIXES) or k in FORWARDED_NAMES)
            and k not in RUN_SCOPED_ENV
        ]
        # Label values are truncated and sanitized; the env carries the exact values.
        run_env = [
            f"{ENV_MODEL_ID}={model_id}",
            f"{ENV_MLFLOW_RUN_ID}={mlflow_run_id}",
            f"{ENV_DATA_WINDOW}={window.to_json() if window else ''}",
        ]
        config: dict = {
            "job_namespace": self.namespace,
            "job_image": self.image,
            "image_pull_policy": self.image_pull_policy,
            "service_account_name": self.service_account,
            "labels": labels,
            "env_vars": forwarded + run_env,
            # Light steps' requests/limits; a namespace with a compute ResourceQuota rejects
            # pods without them. Heavy steps replace them through their op tags.
            "resources": LIGHT_STEP_RESOURCES,
            "volumes": [
                {
                    "name": SHARED_VOLUME,
                    "persistent_volume_claim": {"claim_name": self.shared_claim},
                }
            ],
            "volume_mounts": [{"name": SHARED_VOLUME, "mount_path": self.shared_mount}],
            # Retries are Dagster's (the op's RetryPolicy), never Kubernetes': a pod restarted
            # behind Dagster's back leaves the step IN_PROGRESS (dagster#33755).
            "retries": {"enabled": {}},
            "step_k8s_config": {
                "job_spec_config": {
                    "backoff_limit": 0,
                    # Finished step Jobs go after an hour (dagster-k8s keeps them a day): at
                    # hundreds of retrains a day, six Jobs each, a day's worth would crowd the
                    # namespace. Reasons and log tails are in the event log by then.
                    "ttl_seconds_after_finished": STEP_JOB_TTL_SECONDS,
                    "active_deadline_seconds": self.max_runtime_seconds
                    + self.pod_start_timeout_seconds,
                },
                "container_config": {
                    # The Dagster run id is a label dagster-k8s sets; the downward API hands it
                    # to the step's environment too.
                    "env": [
                        {
                            "name": ENV_DAGSTER_RUN_ID,
                            "value_from": {
                                "field_ref": {"field_path": "metadata.labels['dagster/run-id']"}
                            },
                        }
                    ]
                },
            },
        }
        if self.signing_key_secret:
            config["volumes"].append(
                {
                    "name": SIGNING_KEY_VOLUME,
                    "secret": {"secret_name": self.signing_key_secret, "default_mode": 0o400},
                }
            )
            config["volume_mounts"].append(
                {"name": SIGNING_KEY_VOLUME, "mount_path": SIGNING_KEY_MOUNT, "read_only": True}
            )
        if self.image_pull_secrets:
            config["image_pull_secrets"] = [{"name": s} for s in self.image_pull_secrets]
        if self.env_secrets:
            config["env_secrets"] = list(self.env_secrets)
        if self.kubeconfig_file:
            config["load_incluster_config"] = False
            config["kubeconfig_file"] = self.kubeconfig_file
        else:
            config["load_incluster_config"] = True
        return config


def _names(env: Mapping[str, str], name: str) -> list[str]:
    return [s.strip() for s in env.get(name, "").split(",") if s.strip()]


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise InputError(f"{name} must be positive, got {value}")
    return value


def heavy_step_tags(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict:
    """op_tags for a heavy step: its own requests/limits when it runs as a Kubernetes Job."""
    return {
        OP_HEAVY: "true",
        "dagster-k8s/config": {
            "container_config": {
                "resources": {
                    "requests": {"cpu": cpu, "memory": memory},
                    "limits": {"cpu": cpu_limit, "memory": memory_limit},
                }
            }
        },
    }


LIGHT_STEP_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
# Requests/limits of each heavy step. Training is the big one; the contamination scan streams
# records and needs CPU more than memory.
RETRAIN_TAGS = heavy_step_tags(cpu="2", memory="4Gi", cpu_limit="4", memory_limit="8Gi")
CONTAMINATION_TAGS = heavy_step_tags(cpu="1", memory="2Gi", cpu_limit="2", memory_limit="4Gi")
# Evictions and node loss are retried once by Dagster (a new Job), never by Kubernetes.
HEAVY_RETRY_POLICY = dg.RetryPolicy(max_retries=1, delay=1)
