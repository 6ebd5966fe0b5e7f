"""Approvals through the core: an INVESTIGATE opens one; approving re-verifies the run and
moves `champion` by compare-and-swap (a signed ledger entry naming who and why); rejecting moves
nothing; approving twice, after expiry, after the run changed or after the champion moved is
refused and changes nothing."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.approvals import (
    INVESTIGATE_SEED,
    SHIP_SEED,
    decided_and_promoted,
    pipeline_config,
)
from tests.support.mlflow_server import drained, mlflow_runs_of, retrain
from verifily.approvals import review
from verifily.errors import Conflict, InputError, NotFound
from verifily.registry.champion import current_champion, ledger_aliases
from verifily.registry.ledger import ledger_path, verify_ledger
from verifily.signing.keystore import trusted_keys
from verifily.tracking.store import mlflow_client, resolve_tracking_settings
from verifily.tracking.versions import aliases

pytestmark = pytest.mark.slow


def ledger(model="m") -> list[dict]:
    check = verify_ledger(ledger_path(), trusted_keys(), model)
    assert check.problems == []
    return check.of(model)


def test_investigate_opens_one_approval_and_approving_moves_champion(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    run_dir, moved, approval = decided_and_promoted(tmp_path, INVESTIGATE_SEED)
    assert moved["alias"] == "challenger" and moved["moved"]
    assert approval is not None and approval["state"] == "pending"
    assert approval["recommendation"] == "INVESTIGATE"
    decision = json.loads((run_dir / "decision" / "decision.json").read_text())
    # Whatever rules decision.json lists, the approval shows them all.
    assert [r["rule"] for r in approval["reasons"]] == [f["rule"] for f in decision["rules_fired"]]
    # Opening again (a retried step) finds the same approval: one per run.
    again = review.open_for_run(run_dir, opened_by="retry")
    assert again is not None and again["approval_id"] == approval["approval_id"]
    assert [a["approval_id"] for a in review.list_approvals("m", "pending")] == [
        approval["approval_id"]
    ]
    assert review.list_approvals("other") == []
    opened = [e for e in ledger() if e["event"] == "approval_opened"]
    assert len(opened) == 1 and opened[0]["details"]["approval_id"] == approval["approval_id"]

    closed = review.approve(
        approval["approval_id"], actor="alice", reason="looked at the slices", settings=settings
    )
    assert (closed["state"], closed["actor"], closed["reason"]) == (
        "approved",
        "alice",
        "looked at the slices",
    )
    # The challenger's version becomes champion: no second registration.
    assert ledger_aliases("m") == {"challenger": "1", "champion": "1"}
    holder = current_champion("m")
    assert holder is not None and holder.run_dir == str(run_dir)
    last = ledger()[-1]
    assert last["event"] == "approved" and last["signed_by"]
    d = last["details"]
    assert (d["actor"], d["why"], d["from_version"], d["to_version"]) == (
        "alice",
        ["looked at the slices"],
        None,
        "1",
    )
    assert d["approval_id"] == approval["approval_id"]

    with pytest.raises(Conflict, match="already approved by alice"):
        review.approve(approval["approval_id"], actor="bob", reason="again", settings=settings)
    with pytest.raises(Conflict, match="already approved"):
        review.reject(approval["approval_id"], actor="bob", reason="too late")
    assert ledger()[-1]["seq"] == last["seq"]


def test_rejecting_moves_nothing_and_is_signed(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    _, _, approval = decided_and_promoted(tmp_path, INVESTIGATE_SEED)
    assert approval is not None
    closed = review.reject(approval["approval_id"], actor="carol", reason="slice regressed")
    assert closed["state"] == "rejected" and closed["outcome"]["moved"] is False
    assert ledger_aliases("m") == {"challenger": "1"}
    assert current_champion("m") is None
    last = ledger()[-1]
    assert (last["event"], last["details"]["actor"], last["details"]["why"]) == (
        "rejected",
        "carol",
        ["slice regressed"],
    )
    with pytest.raises(Conflict, match="already rejected by carol"):
        review.approve(approval["approval_id"], actor="d", reason="r", settings=settings)
    assert current_champion("m") is None


def test_an_expired_approval_is_refused(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    cfg = pipeline_config(tmp_path, ttl=1)
    _, _, approval = decided_and_promoted(tmp_path, INVESTIGATE_SEED, config=cfg)
    assert approval is not None
    later = datetime.now(UTC) + timedelta(hours=1, seconds=1)
    with pytest.raises(Conflict, match="already expired"):
        review.approve(approval["approval_id"], actor="a", reason="r", settings=settings, now=later)
    assert current_champion("m") is None
    assert review.list_approvals("m")[0]["state"] == "expired"
    assert ledger()[-1]["event"] == "approval_expired"


def test_approving_after_the_champion_moved_is_refused(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    _, _, approval = decided_and_promoted(tmp_path, INVESTIGATE_SEED)
    assert approval is not None and approval["champion"] is None
    # A SHIP lands meanwhile: the champion is no longer the one the decision compared with.
    _, shipped, _ = decided_and_promoted(tmp_path, SHIP_SEED)
    assert shipped["moved"] and shipped["alias"] == "champion"
    before = ledger()[-1]["seq"]
    with pytest.raises(Conflict, match=r"champion of m moved since the decision .* now v2"):
        review.approve(approval["approval_id"], actor="a", reason="r", settings=settings)
    assert ledger_aliases("m")["champion"] == "2"
    assert ledger()[-1]["seq"] == before
    # Still pending: a person can reject it, or it expires.
    assert review.list_approvals("m", "pending")[0]["approval_id"] == approval["approval_id"]


def test_a_run_changed_after_opening_is_not_promoted(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    run_dir, _, approval = decided_and_promoted(tmp_path, INVESTIGATE_SEED)
    assert approval is not None
    results = run_dir / "eval" / "eval_results.json"
    results.write_text(results.read_text().replace("0.83", "0.99"))
    with pytest.raises(Conflict, match="does not verify"):
        review.approve(approval["approval_id"], actor="a", reason="r", settings=settings)
    assert current_champion("m") is None


def test_require_approval_holds_a_ship(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    cfg = pipeline_config(tmp_path, require_approval=True)
    _, held, approval = decided_and_promoted(tmp_path, SHIP_SEED, config=cfg)
    assert held["moved"] is False and held["held_for_approval"]
    assert ledger_aliases("m") == {}
    assert approval is not None and approval["recommendation"] == "SHIP"
    closed = review.approve(approval["approval_id"], actor="a", reason="ok", settings=settings)
    assert closed["outcome"]["version"] == "1" and ledger_aliases("m") == {"champion": "1"}


def test_bad_requests_name_the_field(mlflow_env, tmp_path):
    settings = resolve_tracking_settings()
    with pytest.raises(NotFound, match="approval 'apr-nope' does not exist"):
        review.approve("apr-nope", actor="a", reason="r", settings=settings)
    with pytest.raises(InputError, match="reason: a reason is required"):
        review.reject("apr-nope", actor="a", reason="  ")
    with pytest.raises(InputError, match="state: must be one of"):
        review.list_approvals(state="open")


def test_approving_a_real_candidate_registers_it_through_the_outbox(
    instance, mlflow_env, tmp_path, monkeypatch
):
    """Approval needs no MLflow at the time: the ledger moves, and the drainer sets MLflow's
    `champion` afterwards, on the version the INVESTIGATE's challenger move registered."""
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")
    settings = resolve_tracking_settings()
    # The real iris model's f1 lands inside this config's investigate band.
    cfg = pipeline_config(tmp_path)
    held = retrain(instance, tmp_path / "runs", mode="real", pipeline_config=str(cfg))
    assert held["decision"] == "INVESTIGATE"
    drained()
    assert aliases(settings, "iris") == {"challenger": "1"}
    [approval] = review.list_approvals("iris", "pending")
    closed = review.approve(approval["approval_id"], actor="a", reason="ok", settings=settings)
    assert closed["outcome"]["version"] == "1"
    assert ledger_aliases("iris", "real") == {"challenger": "1", "champion": "1"}
    assert aliases(settings, "iris") == {"challenger": "1"}  # MLflow follows on the drain
    drained()
    drained()  # applying again changes nothing
    assert aliases(settings, "iris") == {"challenger": "1", "champion": "1"}
    (version,) = mlflow_client(settings).search_model_versions("name = 'iris'")
    assert version.tags["verifily.ledger_version"] == "1"
    assert version.run_id == mlflow_runs_of(held["run_id"])[0].info.run_id
