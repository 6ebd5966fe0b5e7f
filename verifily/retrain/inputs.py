"""What a retrain needs before it may start: its request valid, its dataset and thresholds there.

Checked by every entry point before a Dagster run exists, so a request refused for a missing
directory is an error to its caller (exit 65, HTTP 400), never a failed run in the history.
What only a full read can find (a malformed record, a hash that does not match) is left to the
run's own steps. A missing baseline is not checked: the decision says INVESTIGATE for it.
"""

from __future__ import annotations

from pathlib import Path

from verifily.config.pipeline import load_thresholds
from verifily.dataset.artifact import DATASET_FILE, HASHES_FILE
from verifily.errors import InputError
from verifily.retrain.request import RetrainRequest, check_request


def check_inputs(fields: dict) -> None:
    """Raise InputError naming the field or file when the retrain cannot start."""
    req = RetrainRequest.from_dict({k: v for k, v in fields.items() if v is not None})
    check_request(req)
    d = Path(req.dataset_dir)
    if not d.is_dir():
        raise InputError(f"{d}: dataset directory does not exist")
    for name in (DATASET_FILE, HASHES_FILE):
        if not (d / name).is_file():
            raise InputError(
                f"{d / name}: missing (an artifact needs {DATASET_FILE} and {HASHES_FILE})"
            )
    load_thresholds(req.pipeline_config, metric=req.metric)
