"""What the benchmarks share: the --smoke help, timing medians, percentiles, and a reference
commit's code to measure today's path against. Import it after `checkout`."""

import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from checkout import REPO

SMOKE_HELP = "a seconds-long run on tiny inputs (CI): proves the script runs, not the figure"


def median_seconds(fn: Callable[[], object], reps: int) -> float:
    """The median wall time of `reps` calls of fn, in seconds."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def reference_tree(commit: str, dest: Path) -> Path:
    """The reference commit's code, extracted (not installed: PYTHONPATH puts it first).
    Older commits lack verifily/feeds/window.py (their .gitignore ignored it), so today's file
    is added where it is missing."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    window = dest / "verifily" / "feeds" / "window.py"
    if not window.exists():
        shutil.copy(REPO / "verifily" / "feeds" / "window.py", window)
    return dest
