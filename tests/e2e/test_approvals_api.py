"""Approvals over a real `verifily serve`: REST, GraphQL and the SDK each approve an INVESTIGATE
(champion moves, a signed ledger entry names the actor) or reject one (nothing moves); approving
twice, after the champion moved, or with a bad body is refused with the reason."""

import shutil

import pytest
import requests

from tests.support.api_servers import make_stack
from tests.support.approvals import INVESTIGATE_SEED, SHIP_SEED, decided_and_promoted
from tests.support.mlflow_server import MLFLOW_ENV
from verifily.registry.champion import current_champion, ledger_aliases
from verifily.registry.ledger import ledger_path, verify_ledger
from verifily.signing.keystore import trusted_keys
from verifily_sdk import VerifilyAPIError, VerifilyClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def served(tmp_path, monkeypatch, mlflow_template_db):
    """`verifily serve` on a fresh instance; this process shares its jobs database, ledger and
    MLflow store (the state directory beside DAGSTER_HOME)."""
    for key in MLFLOW_ENV:
        monkeypatch.delenv(key, raising=False)
    shutil.copy(mlflow_template_db, tmp_path / "mlflow.db")
    stack = make_stack(tmp_path, daemon=False)
    monkeypatch.setenv("DAGSTER_HOME", str(stack.home))
    yield stack
    stack.stop()


def last_entry(model: str) -> dict:
    check = verify_ledger(ledger_path(), trusted_keys(), model)
    assert check.problems == []
    return check.of(model)[-1]


def test_rest_graphql_and_sdk_approve_and_reject(served, tmp_path):
    url = served.api_url
    ids = {}
    for model in ("rest", "gql", "sdk", "no", "moved"):
        _, _, approval = decided_and_promoted(tmp_path, INVESTIGATE_SEED, model)
        assert approval is not None
        ids[model] = approval["approval_id"]

    listed = requests.get(f"{url}/v1/approvals", params={"state": "pending"}, timeout=30)
    assert listed.status_code == 200
    assert sorted(a["approval_id"] for a in listed.json()["approvals"]) == sorted(ids.values())
    one = requests.get(f"{url}/v1/approvals", params={"model": "rest"}, timeout=30).json()
    [shown] = one["approvals"]
    assert shown["reasons"] and shown["reasons"][0]["rule"]
    assert shown["expires_at"] > shown["opened_at"]

    # REST
    r = requests.post(
        f"{url}/v1/approvals/{ids['rest']}/approve",
        json={"reason": "checked slices", "actor": "ana"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["actor"]) == ("approved", "ana")
    assert ledger_aliases("rest")["champion"] == "1"
    entry = last_entry("rest")
    assert (entry["event"], entry["details"]["actor"], entry["details"]["why"]) == (
        "approved",
        "ana",
        ["checked slices"],
    )
    again = requests.post(
        f"{url}/v1/approvals/{ids['rest']}/approve", json={"reason": "x", "actor": "ben"}
    )
    assert again.status_code == 409 and "already approved by ana" in again.json()["detail"]
    no_reason = requests.post(f"{url}/v1/approvals/{ids['rest']}/approve", json={"actor": "b"})
    assert no_reason.status_code == 422 and "reason" in str(no_reason.json()["detail"])
    missing = requests.post(
        f"{url}/v1/approvals/apr-nope/reject", json={"reason": "x", "actor": "b"}, timeout=30
    )
    assert missing.status_code == 404 and "apr-nope" in missing.json()["detail"]
    bad_state = requests.get(f"{url}/v1/approvals", params={"state": "open"}, timeout=30)
    assert bad_state.status_code == 422 and "state" in str(bad_state.json()["detail"])

    # GraphQL
    gql = requests.post(
        f"{url}/graphql",
        json={
            "query": 'mutation($id: ID!) { approveModel(approvalId: $id, reason: "fine", '
            'actor: "gia") { id state actor outcome } }',
            "variables": {"id": ids["gql"]},
        },
        timeout=120,
    ).json()
    assert "errors" not in gql, gql
    assert gql["data"]["approveModel"]["state"] == "approved"
    assert ledger_aliases("gql")["champion"] == "1"
    assert last_entry("gql")["details"]["actor"] == "gia"
    pending = requests.post(
        f"{url}/graphql",
        json={"query": '{ mlApprovals(modelId: "no", state: "pending") { id reasons } }'},
        timeout=30,
    ).json()
    assert [a["id"] for a in pending["data"]["mlApprovals"]] == [ids["no"]]
    twice = requests.post(
        f"{url}/graphql",
        json={
            "query": 'mutation($id: ID!) { rejectModel(approvalId: $id, reason: "x") { id } }',
            "variables": {"id": ids["gql"]},
        },
        timeout=30,
    ).json()
    assert "already approved by gia" in twice["errors"][0]["message"]

    # SDK
    client = VerifilyClient(url)
    assert [a.approval_id for a in client.list_approvals("sdk")] == [ids["sdk"]]
    done = client.approve(ids["sdk"], "ship it", actor="sam")
    assert done.state == "approved" and done.outcome and done.outcome["version"] == "1"
    holder = current_champion("sdk")
    assert holder is not None and holder.version == "1"
    rejected = client.reject(ids["no"], "not convinced", actor="sam")
    assert rejected.state == "rejected" and "champion" not in ledger_aliases("no")
    assert last_entry("no")["event"] == "rejected"

    # The champion moved since the decision: refused, nothing moves.
    decided_and_promoted(tmp_path, SHIP_SEED, "moved")
    assert ledger_aliases("moved")["champion"] == "2"
    with pytest.raises(VerifilyAPIError) as refused:
        client.approve(ids["moved"], "late", actor="sam")
    assert refused.value.status_code == 409
    assert "moved since the decision" in refused.value.message
    assert ledger_aliases("moved")["champion"] == "2"
