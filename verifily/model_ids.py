"""The model ids named in the models configuration, one Dagster partition each.

A thin view over `verifily.models_config` (the one parser of that file), so the partitions
the UI shows and the sensors the code location builds always agree on which models exist.
"""

import os
from pathlib import Path

from verifily.models_config import load_models_config

DEFAULT_MODELS_CONFIG = Path("config") / "models.yaml"
MODELS_CONFIG_ENV = "VERIFILY_MODELS_CONFIG"


def models_config_path() -> Path:
    """$VERIFILY_MODELS_CONFIG, else config/models.yaml relative to the working directory."""
    return Path(os.environ.get(MODELS_CONFIG_ENV) or DEFAULT_MODELS_CONFIG)


def configured_model_ids(path: str | os.PathLike | None = None) -> list[str]:
    """Model ids in file order; [] when the file does not exist.

    Raises InputError naming the file and the problem, exactly as loading the code location
    would (the same parser validates both).
    """
    p = Path(path) if path is not None else models_config_path()
    if not p.is_file():
        return []
    return [m.model_id for m in load_models_config(p).models]
