"""Real-mode train and evaluate steps over the staged run directory.

`train_real` fits the chosen trainer on the training split and saves the model under
`model/` in the run directory (so `hashes.json` covers it); `evaluate_real` loads that model,
predicts the evaluation split, and scores the predictions itself.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from verifily.dataset.artifact import iter_records
from verifily.dataset.evalsplit import eval_records, split_sha256
from verifily.errors import InputError, VerifilyError
from verifily.fsutil import write_bytes_durable, write_json
from verifily.hashing import canonical_json
from verifily.training.builtin import DEFAULT_TRAINER, TRAINER_KIND
from verifily.training.choice import TrainingConfig, guess_output_kind, load_training_config
from verifily.training.entrypoint import load_trainer
from verifily.training.interface import Progress, TrainerError
from verifily.training.metrics import class_metrics, compute_metrics
from verifily.training.outcomes import PREDICTIONS_FILE

MODEL_FILE = "model/model.joblib"
MODEL_CARD = "model/model.json"
WORKDIR = "model/workdir"
EVAL_BATCH = 10_000


def _quiet(_: str) -> None:
    pass


def choose_trainer(cfg: TrainingConfig, outputs: list) -> tuple[str, str, str]:
    """(trainer name, output kind, how they were chosen) for the configured or guessed setup."""
    if cfg.output_kind != "auto":
        kind, why = cfg.output_kind, "output_kind from the pipeline config"
    elif cfg.trainer in TRAINER_KIND:
        kind, why = TRAINER_KIND[cfg.trainer], f"the kind trainer {cfg.trainer} is built for"
    else:
        kind, why = guess_output_kind(outputs)
        why = f"guessed from the data: {why}"
    if cfg.trainer == "auto":
        return DEFAULT_TRAINER[kind], kind, f"trainer guessed for {kind} outputs ({why})"
    if cfg.trainer == "regressor" and kind != "numeric":
        raise InputError(f"trainer regressor predicts numbers, but the outputs are {kind} ({why})")
    return cfg.trainer, kind, f"trainer from the pipeline config; {kind} outputs ({why})"


def train_real(state: dict, progress: Progress | None = None) -> dict:
    """Fit the model on the training split; returns the `state["model"]` entry."""
    say = progress or _quiet
    req, ds = state["request"], state["dataset"]
    staging = Path(state["staging_dir"])
    counts = ds.get("split_counts", {})
    if not counts.get("eval"):
        raise InputError(
            f"{ds['path']}: the evaluation split is empty ({counts.get('train', 0)} train "
            "records, 0 eval): real metrics need held-out records; re-ingest with "
            "--eval-fraction or a split column"
        )
    if not counts.get("train"):
        raise InputError(f"{ds['path']}: the training split is empty: nothing to train on")
    cfg = load_training_config(req.get("pipeline_config"), req.get("project_id", "default"))
    say(f"loading {counts['train']} training records from {ds['path']}")
    records = [r for r in iter_records(ds["path"]) if r["split"] == "train"]
    outputs = [r["output"] for r in records]
    distinct = Counter(canonical_json(o) for o in outputs)
    if len(distinct) == 1:
        raise InputError(
            f"{ds['path']}: all {len(records)} training records have the same output "
            f"{outputs[0]!r}: there is nothing to learn (a classifier needs two classes or more)"
        )
    name, kind, how = choose_trainer(cfg, outputs)
    if kind == "numeric":
        bad = next(
            (o for o in outputs if isinstance(o, bool) or not isinstance(o, int | float)), None
        )
        if bad is not None:
            raise InputError(f"output_kind numeric, but a training output is {bad!r}")
    trainer = load_trainer(name)
    say(f"{how}")
    say(f"training {name} on {len(records)} records (seed {req['seed']})")
    workdir = staging / WORKDIR
    workdir.mkdir(parents=True, exist_ok=True)
    # Trainers that draw from the global generators get the seed too.
    random.seed(req["seed"])
    np.random.seed(req["seed"] % 2**32)
    t0 = time.perf_counter()
    try:
        model = trainer(records, req["seed"], workdir)
    except VerifilyError:
        raise
    except Exception as e:
        raise TrainerError(f"trainer {name!r} raised {type(e).__name__}: {e}") from e
    fit_seconds = time.perf_counter() - t0
    if not callable(getattr(model, "predict", None)):
        raise TrainerError(
            f"trainer {name!r} returned {type(model).__name__}, which has no predict(inputs)"
        )
    say(f"trained {name} in {fit_seconds:.1f}s; saving the model")
    path = staging / MODEL_FILE
    try:
        joblib.dump(model, path)
    except Exception as e:
        raise TrainerError(
            f"the model from trainer {name!r} cannot be saved with joblib (pickle): "
            f"{type(e).__name__}: {e}"
        ) from e
    if not any(workdir.iterdir()):
        workdir.rmdir()
    majority = json.loads(distinct.most_common(1)[0][0]) if kind == "classes" else None
    describe = getattr(model, "describe", None)
    card = {
        "trainer": name,
        "output_kind": kind,
        "chosen_by": how,
        "seed": req["seed"],
        "n_train": len(records),
        "distinct_outputs": len(distinct),
        "majority_output": majority,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "details": describe() if callable(describe) else {},
        "training_config": cfg.to_dict(),
    }
    write_json(staging / MODEL_CARD, card)
    return {
        "mode": "real",
        **{
            k: card[k]
            for k in ("trainer", "output_kind", "chosen_by", "n_train", "majority_output")
        },
        "path": str(path),
        "relpath": MODEL_FILE,
        "card": MODEL_CARD,
        "numeric_tolerance": {"abs": cfg.numeric_abs_tol, "rel": cfg.numeric_rel_tol},
        "fit_seconds": round(fit_seconds, 6),
    }


def predict_split(
    model: Any, name: str, records: list[dict], say: Progress, what: str = "records"
) -> list[Any]:
    """The model's predictions for `records`' inputs, in batches, as plain JSON values."""
    preds: list[Any] = []
    for start in range(0, len(records), EVAL_BATCH):
        batch = records[start : start + EVAL_BATCH]
        try:
            got = list(model.predict([r["input"] for r in batch]))
        except Exception as e:
            raise TrainerError(
                f"model from trainer {name!r} failed to predict: {type(e).__name__}: {e}"
            ) from e
        if len(got) != len(batch):
            raise TrainerError(
                f"model from trainer {name!r} returned {len(got)} predictions "
                f"for {len(batch)} inputs"
            )
        preds.extend(_plain(p) for p in got)
        say(f"evaluated {len(preds)}/{len(records)} {what}")
    return preds


def evaluate_real(state: dict, progress: Progress | None = None) -> dict:
    """Predict the evaluation split with the saved model and score it; returns result fields."""
    say = progress or _quiet
    info, ds = state["model"], state["dataset"]
    staging = Path(state["staging_dir"])
    name = info["trainer"]
    model = joblib.load(staging / info["relpath"])
    records = eval_records(ds["path"])
    if not records:
        raise InputError(f"{ds['path']}: the evaluation split is empty; nothing to score")
    preds = predict_split(model, name, records, say)
    truths = [r["output"] for r in records]
    ids = [r.get("id") for r in records]
    tol = info["numeric_tolerance"]
    try:
        metrics = compute_metrics(
            info["output_kind"], preds, truths, abs_tol=tol["abs"], rel_tol=tol["rel"]
        )
    except ValueError as e:
        raise TrainerError(f"predictions of trainer {name!r} cannot be scored: {e}") from e
    write_predictions(staging / PREDICTIONS_FILE, ids, truths, preds)
    extra: dict = {
        "output_kind": info["output_kind"],
        "trainer": name,
        "chosen_by": info["chosen_by"],
    }
    if info["output_kind"] == "classes":
        # What always answering the most frequent training class scores: a model must beat it.
        extra["reference"] = {
            "majority_class": class_metrics([info["majority_output"]] * len(truths), truths)
        }
    if info["output_kind"] == "numeric":
        extra["numeric_tolerance"] = tol
    say("scored: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
    return {"metrics": metrics, **extra, "eval_split_sha256": split_sha256(records)}


def _plain(v: Any) -> Any:
    """A prediction as a plain JSON value (numpy scalars become Python ones)."""
    if hasattr(v, "item") and callable(v.item):
        v = v.item()
    if v is None or isinstance(v, str | int | float | bool):
        return v
    raise TrainerError(f"a prediction must be a string, number or boolean, got {type(v).__name__}")


def write_predictions(path: Path, ids: list, truths: list, preds: list) -> None:
    """One canonical JSON line per eval record: its id (if any), truth and prediction."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (
        canonical_json({"id": i, "output": t, "prediction": p}) + b"\n"
        if i is not None
        else canonical_json({"output": t, "prediction": p}) + b"\n"
        for i, t, p in zip(ids, truths, preds, strict=True)
    )
    write_bytes_durable(path, b"".join(lines))
