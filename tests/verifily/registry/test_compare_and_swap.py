"""Compare-and-swap promotion: a candidate decided against a champion that has since moved is
re-decided against the new one before anything moves; the ledger's champion moves chain, and
a champion whose run (or the ledger) no longer verifies is never compared with."""

import json
from pathlib import Path

import pytest

from tests.support.core_retrain import core_retrain
from tests.support.examples import IRIS
from tests.support.forgery import rechain_audit, reseal, set_metrics
from verifily.registry.champion import current_champion, ledger_aliases
from verifily.registry.ledger import ledger_path, verify_ledger
from verifily.registry.promote import promote
from verifily.signing.keystore import trusted_keys
from verifily.tracking.store import resolve_tracking_settings
from verifily.training.mock import mock_metrics

DATASET_HASH = json.loads((IRIS / "hashes.json").read_text())["dataset_hash"]
# Mock f1 on iris: seed 4 -> 0.80, seed 9 -> 0.92, seed 44 -> 0.95 (README, mock mode).
WORSE, BETTER, BEST = 4, 9, 44


def f1(seed: int) -> float:
    return mock_metrics(DATASET_HASH, seed)["f1"]


def candidate(out: Path, seed: int) -> Path:
    resp = core_retrain(IRIS, out, seed=seed, project_id="m", against_champion=True, tracked=True)
    return Path(resp["run_dir"])


def decision(run_dir: Path) -> dict:
    return json.loads((run_dir / "decision" / "decision.json").read_text())


def champion_moves(model: str) -> list[tuple]:
    check = verify_ledger(ledger_path(), trusted_keys(), model)
    assert check.problems == []
    return [
        (e["event"], e["details"]["from_version"], e["details"]["to_version"])
        for e in check.of(model)
        if e["details"]["alias"] == "champion"
    ]


@pytest.mark.slow
def test_a_candidate_is_re_decided_when_the_champion_moved(mlflow_env, tmp_path):
    assert f1(WORSE) < f1(BETTER) - 0.01 < f1(BEST) - 0.01
    settings = resolve_tracking_settings()
    runs = tmp_path / "runs"
    # Three retrains decided while there was no champion: each would SHIP against "none".
    worse, better, best = candidate(runs, WORSE), candidate(runs, BETTER), candidate(runs, BEST)
    for d in (worse, better, best):
        assert decision(d)["recommendation"] == "SHIP" and decision(d)["champion"] is None

    first = promote(settings, better, actor="t", ledger=ledger_path())
    assert (first["moved"], first["from_version"], first["version"]) == (True, None, "1")

    # The champion moved since `worse` decided: re-decided against v1, it regresses.
    kept = promote(settings, worse, actor="t", ledger=ledger_path())
    assert kept["moved"] is False and kept["redecision"]["recommendation"] == "DONT_SHIP"
    assert kept["redecision"]["rules"] == ["regression"]
    assert "champion moved to v1 after the decision" in kept["reason"]

    # `best` re-decided against v1 still ships: it moves from v1, and the entry names both.
    moved = promote(settings, best, actor="t", ledger=ledger_path())
    assert (moved["moved"], moved["from_version"], moved["version"]) == (True, "1", "2")
    assert champion_moves("m") == [
        ("alias_moved", None, "1"),
        ("champion_kept", "1", None),
        ("alias_moved", "1", "2"),
    ]
    entries = verify_ledger(ledger_path(), trusted_keys(), "m").of("m")
    assert entries[1]["details"]["compared_with"] is None
    assert entries[1]["details"]["redecided_against"]["version"] == "1"
    last = entries[2]["details"]
    assert last["compared_with"] is None and last["redecided_against"]["version"] == "1"
    assert last["redecision"]["recommendation"] == "SHIP"
    assert last["baseline"].startswith("champion m v1 ")
    # MLflow mirrors the ledger.
    assert ledger_aliases("m") == {"champion": "2"}
    holder = current_champion("m")
    assert holder is not None and (holder.version, holder.run_dir) == ("2", str(best))

    # A candidate decided against the current champion that ships moves without a
    # re-decision. On 25 eval records only the same model retrained ships against a 0.95
    # champion (every delta 0); one a little worse (seed 41, -0.005) is `inconclusive`.
    close = candidate(runs, BEST)
    assert decision(close)["champion"]["version"] == "2"
    assert decision(close)["recommendation"] == "SHIP"
    assert decision(close)["statistics"]["metrics"]["f1"]["interval"] == [0.0, 0.0]
    assert [f["rule"] for f in decision(candidate(runs, 41))["rules_fired"]] == ["inconclusive"]
    plain = promote(settings, close, actor="t", ledger=ledger_path())
    assert (plain["moved"], plain["from_version"], "redecision" in plain) == (True, "2", False)


@pytest.mark.slow
def test_a_rewritten_champion_run_or_ledger_is_never_compared_with(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    runs = tmp_path / "runs"
    champ = candidate(runs, BETTER)
    assert promote(settings, champ, actor="t", ledger=ledger_path())["moved"]
    # Someone lowers the champion's recorded f1 so a worse model would pass against it.
    set_metrics(champ, 0.5)
    rechain_audit(champ, json.loads((champ / "eval" / "eval_results.json").read_text())["metrics"])
    reseal(champ)
    worse = candidate(runs, WORSE)
    d = decision(worse)
    assert d["recommendation"] == "INVESTIGATE"
    assert [f["rule"] for f in d["rules_fired"]] == ["baseline_unavailable"]
    assert "does not verify" in d["rules_fired"][0]["message"]
    # INVESTIGATE moves the challenger only; the champion stays.
    assert promote(settings, worse, actor="t", ledger=ledger_path())["alias"] == "challenger"
    assert ledger_aliases("m") == {"champion": "1", "challenger": "2"}

    # A ledger line rewritten without the key: no decision trusts the ledger any more.
    path = ledger_path()
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([lines[1], lines[0]]) + b"\n")
    d = decision(candidate(runs, BEST))
    assert d["recommendation"] == "INVESTIGATE"
    assert "promotion ledger" in d["rules_fired"][0]["message"]
    assert "does not verify" in d["rules_fired"][0]["message"]
