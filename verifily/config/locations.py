"""Where local state lives: the Dagster home every entry point shares, and the state directory
beside it (MLflow's embedded store, the promotion ledger, the jobs database).

By default both sit under `./.verifily`, so the CLI, `verifily ui` and `verifily serve` started
in one directory see the same runs.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STATE_DIR = Path(".verifily")
DEFAULT_DAGSTER_HOME = DEFAULT_STATE_DIR / "dagster"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
STATE_DIR_ENV = "VERIFILY_STATE_DIR"
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
