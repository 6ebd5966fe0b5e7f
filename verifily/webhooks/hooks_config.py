"""The webhooks file (`config/webhooks.yaml`, or the file VERIFILY_WEBHOOKS_CONFIG names): which
URLs want which events, and the environment variable holding each one's secret.

```yaml
retry: {initial_seconds: 5, max_seconds: 3600, max_attempts: 12}
webhooks:
  - name: ops
    url: https://hooks.example.com/verifily
    events: [decision, promotion, approval_opened, approval_closed, run_failed]
    secret_env: VERIFILY_WEBHOOK_SECRET_OPS
```

Secrets never live in the file: a `secret` key is refused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from verifily.config.files import load_yaml_file
from verifily.config.locations import WEBHOOKS_CONFIG_ENV
from verifily.errors import InputError

EVENTS = ("decision", "promotion", "approval_opened", "approval_closed", "run_failed")
DEFAULT_FILE = Path("config") / "webhooks.yaml"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Retry:
    """Exponential backoff: initial_seconds, doubled per failed attempt up to max_seconds;
    after max_attempts the delivery is given up (and stays in the log as failed)."""

    initial_seconds: float = 5.0
    max_seconds: float = 3600.0
    max_attempts: int = 12

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        return min(self.initial_seconds * 2 ** max(attempts - 1, 0), self.max_seconds)


@dataclass(frozen=True)
class Webhook:
    """One receiver."""

    name: str
    url: str
    events: tuple[str, ...]
    secret_env: str


@dataclass(frozen=True)
class WebhooksConfig:
    """Every receiver and the retry policy."""

    webhooks: tuple[Webhook, ...] = ()
    retry: Retry = field(default_factory=Retry)
    source: str | None = None

    def subscribed(self, event: str) -> list[Webhook]:
        return [w for w in self.webhooks if event in w.events]


def config_path() -> Path | None:
    """VERIFILY_WEBHOOKS_CONFIG, else config/webhooks.yaml when it exists, else None."""
    named = os.environ.get(WEBHOOKS_CONFIG_ENV)
    if named:
        return Path(named)
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def _number(where: str, key: str, value: object, *, integer: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int if integer else int | float)
    if not ok or not 0 < value < 1e9:  # type: ignore[operator]
        kind = "a positive whole number" if integer else "a positive number"
        raise InputError(f"{where}: retry.{key} must be {kind}, got {value!r}")
    return value  # type: ignore[return-value]


def load_webhooks(path: str | os.PathLike | None = None) -> WebhooksConfig:
    """The webhooks config (none configured without a file); InputError naming the entry and
    field for anything wrong, and for a secret written into the file."""
    p = Path(path) if path is not None else config_path()
    if p is None:
        return WebhooksConfig()
    where = str(p)
    raw = load_yaml_file(p, "webhooks config")
    if not isinstance(raw, dict):
        raise InputError(f"{where}: webhooks config must be a mapping")
    unknown = set(raw) - {"webhooks", "retry"}
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r}; known: webhooks, retry")
    retry_raw = raw.get("retry") or {}
    if not isinstance(retry_raw, dict):
        raise InputError(f"{where}: retry must be a mapping")
    bad = set(retry_raw) - {"initial_seconds", "max_seconds", "max_attempts"}
    if bad:
        raise InputError(f"{where}: unknown key retry.{sorted(bad)[0]}")
    retry = Retry(
        initial_seconds=float(
            _number(where, "initial_seconds", retry_raw.get("initial_seconds", 5))
        ),
        max_seconds=float(_number(where, "max_seconds", retry_raw.get("max_seconds", 3600))),
        max_attempts=int(
            _number(where, "max_attempts", retry_raw.get("max_attempts", 12), integer=True)
        ),
    )
    hooks = raw.get("webhooks") or []
    if not isinstance(hooks, list):
        raise InputError(f"{where}: webhooks must be a list")
    out: list[Webhook] = []
    for i, h in enumerate(hooks):
        at = f"{where}: webhooks[{i}]"
        if not isinstance(h, dict):
            raise InputError(f"{at} must be a mapping")
        if "secret" in h:
            raise InputError(
                f"{at}.secret: secrets never go in the file; name an environment variable "
                "with secret_env"
            )
        unknown = set(h) - {"name", "url", "events", "secret_env"}
        if unknown:
            raise InputError(f"{at}: unknown key {sorted(unknown)[0]!r}")
        name = h.get("name", f"webhook-{i}")
        if not isinstance(name, str) or not name or len(name) > 100:
            raise InputError(f"{at}.name must be a non-empty string")
        url = h.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if (
            not isinstance(url, str)
            or parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
        ):
            raise InputError(f"{at}.url must be an http(s) URL, got {url!r}")
        events = h.get("events")
        if not isinstance(events, list) or not events:
            raise InputError(f"{at}.events must list one or more of {', '.join(EVENTS)}")
        for e in events:
            if e not in EVENTS:
                raise InputError(f"{at}.events: unknown event {e!r}; known: {', '.join(EVENTS)}")
        env = h.get("secret_env")
        if not isinstance(env, str) or not _ENV_NAME.match(env):
            raise InputError(f"{at}.secret_env must name an environment variable, got {env!r}")
        out.append(Webhook(name, url, tuple(dict.fromkeys(events)), env))
    names = [w.name for w in out]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: webhook names must be unique")
    return WebhooksConfig(tuple(out), retry, where)
