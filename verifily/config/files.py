"""Reading a YAML configuration file, with errors that name the file."""

import os
from pathlib import Path

import yaml

from verifily.errors import InputError


def load_yaml_file(path: str | os.PathLike, what: str) -> object:
    """The parsed file ({} when empty); InputError naming the file when missing or malformed."""
    p = Path(path)
    try:
        return yaml.safe_load(p.read_text()) or {}
    except FileNotFoundError:
        raise InputError(f"{p}: {what} does not exist") from None
    except yaml.YAMLError as e:
        raise InputError(f"{p}: not valid YAML: {e}") from None
