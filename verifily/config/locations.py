"""Where local state lives: the Dagster home every entry point shares, and the state directory
beside it (MLflow's embedded store, the promotion ledger, the jobs database, the signing keys).

By default both sit under `./.verifily`, so the CLI, `verifily ui` and `verifily serve` started
in one directory see the same runs. Where the signing key comes from is decided here too: the
file VERIFILY_SIGNING_KEY names, else the key pair in the state directory's `keys/`.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

DEFAULT_STATE_DIR = Path(".verifily")
DEFAULT_DAGSTER_HOME = DEFAULT_STATE_DIR / "dagster"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
STATE_DIR_ENV = "VERIFILY_STATE_DIR"
# A PEM Ed25519 private key file (a mounted Kubernetes Secret in production).
SIGNING_KEY_ENV = "VERIFILY_SIGNING_KEY"
# An SQLAlchemy URL of the deployment's PostgreSQL: champion promotion locks there (advisory
# locks hold across pods); without it a file lock in the state directory (one machine).
LOCK_DB_URL_ENV = "VERIFILY_LOCK_DB_URL"
# Who takes a decision from the CLI (approve, reject, rollback); default: the OS user.
ACTOR_ENV = "VERIFILY_ACTOR"
# The webhooks file (default config/webhooks.yaml in the working directory).
WEBHOOKS_CONFIG_ENV = "VERIFILY_WEBHOOKS_CONFIG"
KEYS_DIR = "keys"
PRIVATE_KEY_FILE = "signing.pem"
PUBLIC_KEY_FILE = "signing.pub.pem"
# Public keys accepted besides the signer's own (keys retired by rotation, other signers).
TRUSTED_KEYS_DIR = "trusted"
INSTANCE_YAML = """\
# Written by verifily: SQLite storage under this directory (the embedded default).
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    """DAGSTER_HOME, else ./.verifily/dagster, as an absolute path (not created)."""
    return Path(os.environ.get(DAGSTER_HOME_ENV) or DEFAULT_DAGSTER_HOME).absolute()


def ensure_dagster_home() -> Path:
    """The Dagster home, created with telemetry off if new, and exported as DAGSTER_HOME."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(INSTANCE_YAML)
    os.environ[DAGSTER_HOME_ENV] = str(home)
    return home


def local_state_dir() -> Path:
    """VERIFILY_STATE_DIR, else the Dagster home's parent (./.verifily by default)."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit).absolute()
    return dagster_home().parent


def signing_key_file() -> Path | None:
    """The private key file VERIFILY_SIGNING_KEY names, or None when it is not set."""
    named = os.environ.get(SIGNING_KEY_ENV)
    return Path(named).absolute() if named else None


def keys_dir() -> Path:
    """The local key pair's directory in the state directory (not created)."""
    return local_state_dir() / KEYS_DIR


def lock_db_url() -> str | None:
    """The database promotion locks are taken in, or None for a local file lock."""
    return os.environ.get(LOCK_DB_URL_ENV) or None


def default_actor() -> str:
    """VERIFILY_ACTOR, else the operating-system user: who a CLI decision is recorded as."""
    return os.environ.get(ACTOR_ENV) or getpass.getuser()
