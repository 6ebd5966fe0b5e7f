"""What a run ran on: Python, platform and the versions of the packages that matter."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

PACKAGES = (
    "verifily",
    "dagster",
    "dagster-k8s",
    "mlflow",
    "pandas",
    "pyarrow",
    "pyyaml",
    "scikit-learn",
)


def environment_info() -> dict:
    """A JSON-ready description of the interpreter, the platform and package versions."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": versions,
    }
