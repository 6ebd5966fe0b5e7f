"""The trainer interface every built-in and bring-your-own trainer implements.

A trainer is a callable `train(records, seed, workdir) -> model`: `records` are the training
split's records (dicts with `input`, `output` and optional `id`/`meta`), `seed` the request's
seed, `workdir` an empty directory inside the run directory for anything the trainer wants to
keep (it is hashed into the run contract). The model needs one method,
`predict(inputs: list[str]) -> list` (one prediction per input), and must be picklable so the
evaluation step, possibly in another process or pod, can load it from the run directory.
Verifily, not the trainer, scores the predictions: the trainer never sees the eval split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from verifily.errors import VerifilyError


class Model(Protocol):
    """A trained model: predicts one output per input."""

    def predict(self, inputs: Sequence[str]) -> Sequence[Any]: ...


Trainer = Callable[[Sequence[dict], int, Path], Model]
Progress = Callable[[str], None]


class TrainerError(VerifilyError):
    """A trainer or its model failed: it raised, returned no usable model, or mispredicted."""

    exit_code = 70
    http_status = 500
