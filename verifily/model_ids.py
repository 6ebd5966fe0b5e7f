"""The one rule for model ids, wherever one enters: the CLI, the API, the models and monitors
files, sensors, run config and the IO manager.

A model id is a Dagster partition key, a directory name under the IO manager's storage and the
snapshot root, part of sensor names and run tags, and an MLflow registered model name, so it
is kept to an alphabet that is safe in all of them: no separators, no `..`-only names, no
leading dot or dash, short enough for any filesystem component.
"""

from __future__ import annotations

import re

from verifily.errors import InputError

MAX_MODEL_ID_CHARS = 128
# For JSON Schema (the API's OpenAPI document) and pydantic, which anchor `$` at the very end.
MODEL_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_MODEL_ID_CHARS - 1}}}$"
_MODEL_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_MODEL_ID_CHARS - 1}}}")
RULE = f"1-{MAX_MODEL_ID_CHARS} letters, digits, '.', '_' or '-', starting with a letter or digit"


def is_model_id(value: object) -> bool:
    """Whether `value` is a valid model id (a str matching the rule, nothing more)."""
    return isinstance(value, str) and _MODEL_ID.fullmatch(value) is not None


def check_model_id(value: object, where: str = "model id") -> str:
    """`value` if it is a valid model id; an InputError naming `where` and the rule otherwise."""
    if not is_model_id(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise InputError(f"{where} {shown} is not a valid model id: {RULE}")
    return value  # type: ignore[return-value]  # is_model_id says it is a str
