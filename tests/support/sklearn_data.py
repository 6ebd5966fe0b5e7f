"""Datasets scikit-learn ships (nobody on this team wrote them), made into artifacts by ingest."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sklearn import datasets

REPO = Path(__file__).resolve().parents[2]
LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


def cli_env(**extra: str) -> dict:
    """The environment for `python -m verifily` subprocesses: this checkout importable."""
    env = {k: v for k, v in os.environ.items() if k != "VERIFILY_ENABLE_REAL_TRAIN"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return {**env, **extra}


def verifily(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "verifily", *args],
        capture_output=True,
        text=True,
        env=cli_env(**env),
        cwd=REPO,
        timeout=300,
    )


def sklearn_artifact(name: str, workdir: Path) -> Path:
    """Write the dataset as CSV (class names, not codes, as outputs) and `verifily ingest` it."""
    bunch = LOADERS[name](as_frame=True)
    frame = bunch.frame.copy()
    features = list(bunch.feature_names)
    if "target_names" in bunch:
        frame["label"] = [str(bunch.target_names[int(t)]) for t in frame["target"]]
    else:
        frame["label"] = frame["target"].astype(int)
    frame = frame.drop(columns=["target"])
    frame.insert(0, "id", [f"{name}-{i:04d}" for i in range(len(frame))])
    csv = workdir / f"{name}.csv"
    frame.to_csv(csv, index=False)
    out = workdir / f"{name}_artifact"
    cols = [a for f in features for a in ("--input-col", f)]
    done = verifily("ingest", str(csv), "--out", str(out), "--output-col", "label", *cols, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["record_count"] == len(frame)
    return out
