"""Registry promotion: SHIP moves champion, a regression against the champion moves nothing,
INVESTIGATE moves challenger, rollback moves champion back; the ledger records exactly that."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.examples import IRIS, REPO
from tests.support.mlflow_server import drained, retrain
from verifily.registry.champion import ledger_aliases
from verifily.registry.ledger import ledger_path, ledger_problems, read_ledger
from verifily.signing.keystore import trusted_keys
from verifily.tracking.store import resolve_tracking_settings
from verifily.tracking.versions import aliases
from verifily.training.mock import mock_metrics


def _seeds() -> tuple[int, int, int, int]:
    """Seeds whose mock f1 on the iris example (a function of dataset hash and seed,
    verifily/metrics.py) give: a SHIP, a clear regression against it, a non-regressing f1
    inside the lenient INVESTIGATE band [0.7, 0.9), and a better SHIP."""
    dataset_hash = json.loads((IRIS / "hashes.json").read_text())["dataset_hash"]
    f1 = {s: mock_metrics(dataset_hash, s)["f1"] for s in range(500)}
    ship = next(s for s in f1 if 0.75 <= f1[s] <= 0.82)
    regressing = next(s for s in f1 if f1[s] < f1[ship] - 0.05)
    investigate = next(s for s in f1 if f1[ship] <= f1[s] < 0.89)
    better = next(s for s in f1 if f1[s] > max(f1[ship], f1[investigate]) + 0.02)
    return ship, regressing, investigate, better


SHIP_SEED, REGRESSING_SEED, INVESTIGATE_SEED, BETTER_SEED = _seeds()


def verifily(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verifily", *args], capture_output=True, text=True, cwd=REPO
    )


def decision_of(response: dict) -> dict:
    return json.loads((Path(response["run_dir"]) / "decision" / "decision.json").read_text())


@pytest.mark.slow
def test_ship_regression_investigate_rollback(instance, mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    runs = tmp_path / "runs"

    first = retrain(instance, runs, seed=SHIP_SEED)
    assert first["decision"] == "SHIP"
    assert decision_of(first)["baseline"] is None  # no champion yet, nothing to compare with
    assert ledger_aliases("iris") == {"champion": "1"}

    # No base_run_dir: the champion is the baseline, and the regression moves nothing.
    second = retrain(instance, runs, seed=REGRESSING_SEED)
    d = decision_of(second)
    assert second["decision"] == "DONT_SHIP"
    assert d["baseline"]["source"].startswith("champion iris v1 ")
    assert d["baseline"]["metrics"] == decision_of(first)["candidate_metrics"]
    assert [f["rule"] for f in d["rules_fired"]] == ["regression"]
    assert ledger_aliases("iris") == {"champion": "1"}

    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("min_metric: 0.7\ninvestigate_band: 0.2\n")
    third = retrain(instance, runs, seed=INVESTIGATE_SEED, pipeline_config=str(lenient))
    assert third["decision"] == "INVESTIGATE"
    assert ledger_aliases("iris") == {"champion": "1", "challenger": "2"}

    fourth = retrain(instance, runs, seed=BETTER_SEED)
    assert fourth["decision"] == "SHIP"
    assert ledger_aliases("iris") == {"champion": "3", "challenger": "2"}

    rb = verifily("rollback", "iris", "--to", "1", "--reason", "v3 misbehaves in prod", "--json")
    assert rb.returncode == 0, rb.stderr
    assert ledger_aliases("iris") == {"champion": "1", "challenger": "2"}
    bad = verifily("rollback", "iris", "--to", "42")
    assert bad.returncode == 65 and "no version 42" in bad.stderr
    # Mock candidates register nothing servable: once drained, MLflow has no such model.
    drained()
    assert aliases(settings, "iris") == {}

    moves = [
        (
            e["event"],
            e["details"]["alias"],
            e["details"]["from_version"],
            e["details"]["to_version"],
        )
        for e in read_ledger(ledger_path(), "iris")
    ]
    assert moves == [
        ("alias_moved", "champion", None, "1"),
        ("alias_moved", "challenger", None, "2"),
        # The INVESTIGATE waits for a person: its approval, on the champion it compared with.
        ("approval_opened", "champion", "1", None),
        ("alias_moved", "champion", "1", "3"),
        ("rollback", "champion", "3", "1"),
    ]
    entries = read_ledger(ledger_path(), "iris")
    assert entries[0]["details"]["dagster_run_id"] == first["run_id"]
    assert entries[2]["details"]["run_dir"] == third["run_dir"]
    assert entries[3]["details"]["decision"] == "SHIP"
    assert entries[3]["details"]["baseline"].startswith("champion iris v1 ")
    assert entries[4]["details"]["why"] == ["v3 misbehaves in prod"]
    assert ledger_problems(ledger_path(), trusted_keys()) == []

    listed = verifily("promotions", "iris", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["entries"] == entries
    text = verifily("promotions", "iris").stdout
    assert "rollback: champion v3 -> v1" in text
