"""The retrain modes: `mock` (deterministic, for CI) and `real` (trains a model), and the gate
that keeps real training off unless the deployment turns it on."""

from __future__ import annotations

import os

from verifily.errors import NotImplementedModeError

MODES = ("mock", "real")
REAL_TRAIN_ENV = "VERIFILY_ENABLE_REAL_TRAIN"


def check_real_mode_enabled() -> None:
    """Real training is gated behind VERIFILY_ENABLE_REAL_TRAIN=1."""
    if os.environ.get(REAL_TRAIN_ENV) != "1":
        raise NotImplementedModeError(
            f"real training mode is disabled; set {REAL_TRAIN_ENV}=1 to enable it"
        )
