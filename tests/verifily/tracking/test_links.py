"""The MLflow link of a retrain opens in a browser: the server's run page, or for the embedded
store the run page of the UI `verifily mlflow` serves, with a word on how to open it."""

from verifily.tracking.runs import how_to_open, run_url
from verifily.tracking.store import TrackingSettings


def settings(uri: str) -> TrackingSettings:
    return TrackingSettings(True, uri, None, "intelgraph-retraining", "test")


def test_a_server_links_to_its_own_run_page():
    s = settings("http://mlflow.internal:5000/")
    assert run_url(s, "3", "abc") == "http://mlflow.internal:5000/#/experiments/3/runs/abc"
    assert how_to_open(s) is None


def test_the_embedded_store_links_to_verifily_mlflow(monkeypatch):
    monkeypatch.delenv("VERIFILY_MLFLOW_UI_URL", raising=False)
    s = settings("sqlite:////srv/.verifily/mlflow.db")
    assert run_url(s, "1", "abc") == "http://127.0.0.1:5000/#/experiments/1/runs/abc"
    assert "`verifily mlflow`" in how_to_open(s) and "sqlite:////srv/.verifily/mlflow.db" in (
        how_to_open(s) or ""
    )
    monkeypatch.setenv("VERIFILY_MLFLOW_UI_URL", "http://ml.lan:5050/")
    assert run_url(s, "1", "abc") == "http://ml.lan:5050/#/experiments/1/runs/abc"
