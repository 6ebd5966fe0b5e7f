"""The webhooks file: receivers, events and secret variables read as written; anything wrong,
and any secret written into the file, is an error naming the entry and field."""

import pytest

from tests.support.examples import REPO
from verifily.errors import InputError
from verifily.webhooks.hooks_config import Retry, load_webhooks


def write(tmp_path, text: str):
    p = tmp_path / "webhooks.yaml"
    p.write_text(text)
    return p


def test_a_file_is_read_as_written(tmp_path):
    cfg = load_webhooks(
        write(
            tmp_path,
            "retry: {initial_seconds: 2, max_seconds: 10, max_attempts: 3}\n"
            "webhooks:\n  - name: ops\n    url: https://hooks.example.com/v\n"
            "    events: [decision, promotion, decision]\n    secret_env: OPS_SECRET\n",
        )
    )
    [hook] = cfg.webhooks
    assert (hook.name, hook.url, hook.events, hook.secret_env) == (
        "ops",
        "https://hooks.example.com/v",
        ("decision", "promotion"),
        "OPS_SECRET",
    )
    assert [w.name for w in cfg.subscribed("promotion")] == ["ops"]
    assert cfg.subscribed("run_failed") == []
    assert [cfg.retry.delay(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]


def test_no_file_means_no_webhooks(tmp_path, monkeypatch):
    monkeypatch.delenv("VERIFILY_WEBHOOKS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_webhooks().webhooks == ()
    assert Retry().delay(1) == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "webhooks:\n  - {url: 'http://x', events: [decision], secret: abc}\n",
            "webhooks[0].secret: secrets never go in the file",
        ),
        (
            "webhooks:\n  - {url: 'ftp://x', events: [decision], secret_env: S}\n",
            "webhooks[0].url must be an http(s) URL",
        ),
        (
            "webhooks:\n  - {url: 'http://x', events: [shipped], secret_env: S}\n",
            "webhooks[0].events: unknown event 'shipped'",
        ),
        (
            "webhooks:\n  - {url: 'http://x', events: [decision], secret_env: 'no spaces'}\n",
            "webhooks[0].secret_env must name an environment variable",
        ),
        ("retry: {max_attempts: 0}\n", "retry.max_attempts must be a positive whole number"),
        ("hooks: []\n", "unknown key 'hooks'"),
        ("webhooks: [\n", "not valid YAML"),
    ],
)
def test_bad_files_name_the_field(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(InputError, match=r".*") as e:
        load_webhooks(p)
    assert str(p) in str(e.value) and message in str(e.value)


def test_the_shipped_example_file_loads():
    cfg = load_webhooks(REPO / "config" / "webhooks.example.yaml")
    assert [w.name for w in cfg.webhooks] == ["ops"]
    assert len(cfg.webhooks[0].events) == 5
