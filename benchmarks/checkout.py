"""Puts this checkout first on sys.path, so `.venv/bin/python benchmarks/NAME.py` imports the
helpers under tests/support and the packages from the checkout it sits in (a script's own
directory is all Python adds). Every benchmark imports it before any project module."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
