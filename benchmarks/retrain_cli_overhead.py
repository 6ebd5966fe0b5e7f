"""Time of a mock retrain of the example dataset through the CLI, beyond `import dagster`.

Both are measured as fresh processes in the same run (median of --reps), on one Dagster
instance that is created before timing starts. Target: the difference under 1.5 s.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(Path(tmp) / "home"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        retrain = [
            sys.executable,
            "-m",
            "verifily",
            "retrain",
            "--dataset",
            str(REPO / "examples" / "iris" / "artifact"),
            "--out",
            str(Path(tmp) / "runs"),
        ]
        timed(retrain, env)  # creates the instance's storage; not timed
        imports, retrains = [], []
        for _ in range(args.reps):
            imports.append(timed([sys.executable, "-c", "import dagster"], env))
            retrains.append(timed(retrain, env))
    t_imp, t_ret = statistics.median(imports), statistics.median(retrains)
    print(f'python -c "import dagster" (reference): {t_imp:.2f} s (median of {args.reps})')
    print(f"verifily retrain (iris, mock):          {t_ret:.2f} s (median of {args.reps})")
    print(
        f"beyond import dagster: {t_ret - t_imp:.2f} s (target < 1.50 s); "
        f"ratio {t_ret / t_imp:.2f}x"
    )


if __name__ == "__main__":
    main()
