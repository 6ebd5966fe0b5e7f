"""Drainers moving one MLflow alias at the same moment, against a real `mlflow server`: every
move lands. MLflow's store sets an alias by a read then an insert, so of two first moves at
once one used to fail on the alias's unique key, and the drainer that lost stopped its pass
(seen in CI as an IntegrityError from `verifily tracking drain`)."""

import threading

import pytest

from verifily.tracking.store import mlflow_client, resolve_tracking_settings
from verifily.tracking.versions import set_alias

pytestmark = [pytest.mark.e2e]
MODEL = "race"
DRAINERS = 8
ROUNDS = 10


def _versions(client, count: int) -> list[str]:
    """`count` versions of MODEL, each from its own run."""
    exp = client.create_experiment("alias-race")
    client.create_registered_model(MODEL)
    out = []
    for _ in range(count):
        run = client.create_run(exp)
        mv = client.create_model_version(
            MODEL, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
        out.append(str(mv.version))
    return out


def _move_at_once(settings, alias: str, versions: list[str]) -> list[BaseException]:
    """Each version's drainer moves `alias` to it at the same moment; the errors they got."""
    start = threading.Barrier(len(versions))
    errors: list[BaseException] = []

    def move(version: str) -> None:
        own = mlflow_client(settings)  # a drainer each: no client shared
        start.wait()
        try:
            set_alias(own, MODEL, alias, version)
        except BaseException as e:  # noqa: BLE001 - the test reports it
            errors.append(e)

    threads = [threading.Thread(target=move, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_one_alias_moved_by_several_drainers_at_once_lands_every_time(mlflow_server):
    settings = resolve_tracking_settings()
    client = mlflow_client(settings)
    versions = _versions(client, DRAINERS)
    for round_ in range(ROUNDS):
        alias = f"champion{round_}"
        errors = _move_at_once(settings, alias, versions)
        assert not errors, (round_, errors[0])
        held = str(client.get_registered_model(MODEL).aliases[alias])
        assert held in versions  # one of the moves won, and the alias names a real version
