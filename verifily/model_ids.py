"""The model ids named in the models configuration (the YAML the retrain sensors are built from).

Only the ids are read here: each model gets its own Dagster partition, so its retrains and
decisions form one browsable history. The reader accepts the shapes a models file takes
(a list of entries under `models:`, a mapping keyed by id, or a bare list) so it keeps
working while the rest of the file grows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from verifily.errors import InputError

DEFAULT_MODELS_CONFIG = Path("config") / "models.yaml"
MODELS_CONFIG_ENV = "VERIFILY_MODELS_CONFIG"
_ID_KEYS = ("model_id", "id", "name")
# Partition keys appear in URLs and run tags; keep them to a safe, readable alphabet.
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# The sensor re-reads the file every tick; libyaml parses a 1000-model file ~10x faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def models_config_path() -> Path:
    """$VERIFILY_MODELS_CONFIG, else config/models.yaml relative to the working directory."""
    return Path(os.environ.get(MODELS_CONFIG_ENV) or DEFAULT_MODELS_CONFIG)


def _entry_id(entry: object, where: str) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        for key in _ID_KEYS:
            if isinstance(entry.get(key), str):
                return entry[key]
    raise InputError(f"{where}: a model entry needs one of {', '.join(_ID_KEYS)} (got {entry!r})")


def configured_model_ids(path: str | os.PathLike | None = None) -> list[str]:
    """Model ids in file order, without duplicates; [] when the file does not exist.

    Raises InputError naming the file and the problem for unreadable YAML, an entry without
    an id, or an id that cannot be a partition key.
    """
    p = Path(path) if path is not None else models_config_path()
    try:
        doc = yaml.load(p.read_text(), Loader=_LOADER)
    except FileNotFoundError:
        return []
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"models configuration {p} is unreadable: {e}") from None
    models = doc.get("models", []) if isinstance(doc, dict) else doc
    if models is None:
        return []
    if isinstance(models, dict):
        entries = [
            {**v, "model_id": v.get("model_id", k)} if isinstance(v, dict) else k
            for k, v in models.items()
        ]
    elif isinstance(models, list):
        entries = models
    else:
        raise InputError(f"{p}: 'models' must be a list or a mapping, got {type(models).__name__}")
    ids: list[str] = []
    for entry in entries:
        model_id = _entry_id(entry, str(p))
        if not _VALID_ID.match(model_id):
            raise InputError(
                f"{p}: model id {model_id!r} must be 1-128 letters, digits, '.', '_' or '-'"
            )
        if model_id not in ids:
            ids.append(model_id)
    return ids
