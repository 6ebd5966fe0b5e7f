"""Where MLflow tracking goes: explicit values, then environment, then config file, then default.

The embedded default is a SQLite store (and a local artifact directory) in the project's local
state directory, so the quick start needs no server.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from verifily.config.files import load_yaml_file
from verifily.config.locations import local_state_dir
from verifily.errors import InputError

DEFAULT_EXPERIMENT = "intelgraph-retraining"
CONFIG_ENV = "VERIFILY_MLFLOW_CONFIG"
ENABLED_ENV = "VERIFILY_MLFLOW_ENABLED"
DEFAULT_CONFIG_FILE = Path("config") / "mlflow_retraining.yaml"
CONFIG_KEYS = ("enabled", "tracking_uri", "artifact_uri", "experiment_name")
# Where MLflow's UI on an embedded store is opened: `verifily mlflow` serves it here by default.
UI_URL_ENV = "VERIFILY_MLFLOW_UI_URL"
DEFAULT_UI_URL = "http://127.0.0.1:5000"
# MLflow's HTTP client waits 120 s per request and retries for minutes by default (tuned for
# rate-limited hosted backends). A retrain must not stall on a tracking server that accepts
# connections and never answers: each request gets 5 s and one retry, so the first failing
# call costs at most ~11 s, after which tracking is off for that retrain (verifily.tracking.
# runs.guard). A deployment that uploads large models through a slow server raises these by
# setting the same variables. MLflow also prints run URLs to stdout, which would corrupt
# `verifily retrain --json`; we log the URL to the run's events instead.
ENV_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


@dataclass(frozen=True)
class TrackingSettings:
    """Resolved MLflow settings for one process; `source` says where the URI came from."""

    enabled: bool
    tracking_uri: str
    artifact_uri: str | None
    experiment_name: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def is_remote(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))


def _read_config(path: Path) -> dict:
    raw = load_yaml_file(path, "MLflow config")
    if not isinstance(raw, dict):
        raise InputError(f"{path}: MLflow config must be a mapping")
    raw = raw.get("mlflow", raw) if isinstance(raw.get("mlflow"), dict) else raw
    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    if unknown:
        raise InputError(
            f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(CONFIG_KEYS)}"
        )
    return {k: v for k, v in raw.items() if v is not None}


def _as_bool(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InputError(f"{where}: expected true/false, got {value!r}")


def resolve_tracking_settings(
    *,
    tracking_uri: str | None = None,
    artifact_uri: str | None = None,
    experiment_name: str | None = None,
    config_file: str | None = None,
    enabled: bool | None = None,
) -> TrackingSettings:
    """Settings from explicit values > MLFLOW_* env > config file > embedded SQLite default."""
    path = Path(config_file or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)
    if config_file or os.environ.get(CONFIG_ENV):
        if not path.is_file():
            raise InputError(f"{path}: MLflow config file does not exist")
    file_cfg = _read_config(path) if path.is_file() else {}
    source = "explicit"
    uri = tracking_uri
    if not uri and os.environ.get("MLFLOW_TRACKING_URI"):
        uri, source = os.environ["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI"
    if not uri and file_cfg.get("tracking_uri"):
        uri, source = str(file_cfg["tracking_uri"]), str(path)
    state = local_state_dir()
    if not uri:
        uri, source = f"sqlite:///{state / 'mlflow.db'}", "embedded default"
    artifacts = (
        artifact_uri or os.environ.get("MLFLOW_ARTIFACT_URI") or file_cfg.get("artifact_uri")
    )
    if not artifacts and not uri.startswith(("http://", "https://")):
        # Without an explicit location a local store puts artifacts under ./mlruns of whatever
        # directory the process runs in; pin them next to the store instead.
        artifacts = str(state / "mlartifacts")
    if enabled is None:
        env = os.environ.get(ENABLED_ENV)
        if env is not None:
            enabled = _as_bool(env, ENABLED_ENV)
        else:
            enabled = _as_bool(file_cfg.get("enabled", True), f"{path}: enabled")
    return TrackingSettings(
        enabled=enabled,
        tracking_uri=uri,
        artifact_uri=str(artifacts) if artifacts else None,
        experiment_name=experiment_name
        or os.environ.get("MLFLOW_EXPERIMENT_NAME")
        or str(file_cfg.get("experiment_name") or DEFAULT_EXPERIMENT),
        source=source,
    )


def mlflow_client(settings: TrackingSettings):
    """An MlflowClient on the settings' store (tracking and registry on the same URI)."""
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    return _client(settings.tracking_uri)


_CLIENTS: dict = {}


def _client(uri: str):
    # One client per URI per process: building a SQLite store runs its schema checks, which
    # costs far more than a whole retrain's worth of logging calls.
    if uri not in _CLIENTS:
        from mlflow import MlflowClient

        if uri.startswith("sqlite:///"):
            Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        _CLIENTS[uri] = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return _CLIENTS[uri]
