"""Retrains tracked through a real `mlflow server` on loopback (REST client, proxied artifacts)."""

import pytest

from tests.support.mlflow_server import assert_tracked, retrain
from verifily.registry.champion import champion_results, current_champion
from verifily.signing.keystore import trusted_keys
from verifily.tracking.store import resolve_tracking_settings
from verifily.tracking.versions import aliases


@pytest.mark.e2e
@pytest.mark.slow
def test_retrain_tracked_and_promoted_through_server(
    instance, mlflow_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("VERIFILY_ENABLE_REAL_TRAIN", "1")
    settings = resolve_tracking_settings()
    assert settings.tracking_uri == mlflow_server and settings.is_remote
    response = retrain(instance, tmp_path / "runs", mode="real")
    assert response["decision"] == "SHIP"
    assert_tracked(instance, response)
    assert aliases(settings, "iris") == {"champion": "1"}
    # The next retrain's baseline is the champion the signed ledger names (MLflow mirrors it).
    metrics = {k: v for k, v in response["eval_summary"].items() if k != "primary_metric"}
    holder = current_champion("iris", mode="real")
    assert holder is not None and holder.version == "1"
    assert champion_results(holder, trusted_keys()).value == metrics
