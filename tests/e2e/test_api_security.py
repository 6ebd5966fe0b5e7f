"""Hostile input against a real server: every bad path refused with its status code, and
nothing outside the data roots read (atime, under relatime) or written (tree snapshot)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.api_servers import IRIS, make_stack
from tests.support.core_retrain import core_retrain

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KEY = "s3cret-key-for-tests"
OLD_ATIME = 1_000_000_000  # 2001: older than mtime, so relatime updates it on any read


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api_security")
    # No daemon: queued jobs are accepted and stay QUEUED, nothing runs behind the test's back.
    s = make_stack(tmp, daemon=False, api_env={"VERIFILY_API_KEY": KEY})
    outside = tmp / "outside"
    shutil.copytree(IRIS, outside / "iris")
    (outside / "runs").mkdir()
    (s.root / "escape").symlink_to(outside)
    (s.root / "escape_ds").symlink_to(outside / "iris")
    (s.root / "link_to_iris").symlink_to(s.root / "iris")
    # A directory inside the roots whose files are links out: to a valid artifact's files (it
    # would train on them) and to a file that is not an artifact at all.
    (s.root / "evil").mkdir()
    (s.root / "evil" / "dataset.jsonl").symlink_to(outside / "iris" / "dataset.jsonl")
    (s.root / "evil" / "hashes.json").symlink_to(outside / "iris" / "hashes.json")
    (s.root / "evil_data").mkdir()
    (s.root / "evil_data" / "dataset.jsonl").symlink_to(outside / "iris" / "hashes.json")
    shutil.copy(IRIS / "hashes.json", s.root / "evil_data" / "hashes.json")
    # A finished run inside the roots (an output directory must never land in it).
    core_retrain(IRIS, s.root / "done")
    s.outside = outside
    yield s
    s.stop()


def post(stack, path: str, body, key: str | None = KEY, **kw) -> requests.Response:
    headers = {"X-API-Key": key} if key else {}
    return requests.post(f"{stack.api_url}{path}", json=body, headers=headers, timeout=60, **kw)


def snapshot(root: Path) -> dict:
    """Every file and directory under root with size, mtime and atime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            out[str(p)] = (st.st_size, st.st_mtime_ns, st.st_atime_ns)
    return out


def age_atimes(root: Path) -> None:
    for dirpath, _dirs, filenames in os.walk(root):
        for name in filenames:
            p = Path(dirpath, name)
            os.utime(p, (OLD_ATIME, p.stat().st_mtime), follow_symlinks=False)


def test_atime_detector_can_fail(tmp_path):
    """The 'nothing was read' check below relies on relatime; prove it sees a read here."""
    f = tmp_path / "probe"
    f.write_text("x")
    age_atimes(tmp_path)
    f.read_text()
    if f.stat().st_atime == OLD_ATIME:
        pytest.fail("this filesystem does not record reads (noatime); the read check is blind")


def bad_requests(stack) -> list[tuple[str, dict, int, str]]:
    out = str(stack.outside)
    iris = "iris"
    return [
        ("traversal", {"dataset_dir": "../outside/iris"}, 400, "'..'"),
        ("deep traversal", {"dataset_dir": "iris/../../outside/iris"}, 400, "'..'"),
        ("encoded", {"dataset_dir": "%2e%2e/outside/iris"}, 400, "'..'"),
        ("double encoded", {"dataset_dir": "%252e%252e%252foutside%252firis"}, 400, "'..'"),
        ("absolute outside", {"dataset_dir": f"{out}/iris"}, 403, "outside"),
        ("etc", {"dataset_dir": "/etc"}, 403, "outside"),
        ("symlink escape", {"dataset_dir": "escape_ds"}, 403, "symlink"),
        ("symlink dir escape", {"dataset_dir": "escape/iris"}, 403, "symlink"),
        ("NUL", {"dataset_dir": "iris\x00/../x"}, 400, "NUL"),
        ("encoded NUL", {"dataset_dir": "iris%00"}, 400, "NUL"),
        ("over-long", {"dataset_dir": "a/" * 2100}, 400, "longer"),
        ("long component", {"dataset_dir": "x" * 300}, 400, "component"),
        ("file URL", {"dataset_dir": f"file://{out}/iris"}, 400, "URL"),
        ("http URL", {"dataset_dir": "http://127.0.0.1:1/iris"}, 400, "URL"),
        ("output outside", {"dataset_dir": iris, "output_dir": f"{out}/runs"}, 403, "outside"),
        ("output via symlink", {"dataset_dir": iris, "output_dir": "escape/runs"}, 403, "symlink"),
        ("output in dataset", {"dataset_dir": iris, "output_dir": "iris/runs"}, 400, "inside"),
        ("output is dataset", {"dataset_dir": iris, "output_dir": "link_to_iris"}, 400, "inside"),
        ("baseline outside", {"dataset_dir": iris, "base_run_dir": f"{out}/runs"}, 403, "out"),
        (
            "output in baseline",
            {"dataset_dir": iris, "base_run_dir": "runs", "output_dir": "runs"},
            400,
            "inside",
        ),
        (
            "contaminated traversal",
            {"dataset_dir": iris, "contaminated_run_dir": "../x"},
            400,
            "'..'",
        ),
        (
            "output is a run",
            {"dataset_dir": iris, "output_dir": "done/retrain_0001"},
            400,
            "finished run directory",
        ),
        (
            "output in a run",
            {"dataset_dir": iris, "output_dir": "done/retrain_0001/x"},
            400,
            "finished run directory",
        ),
        (
            "output is a dataset",
            {"dataset_dir": iris, "output_dir": "evil_data"},
            400,
            "dataset artifact",
        ),
        ("surrogate dataset", {"dataset_dir": "iris\ud800"}, 400, "dataset_dir: not valid Unicode"),
        (
            "surrogate output",
            {"dataset_dir": iris, "output_dir": "r\udc00"},
            400,
            "output_dir: not valid Unicode",
        ),
        ("surrogate notes", {"dataset_dir": iris, "notes": "\ud800"}, 400, "notes: not valid"),
        ("surrogate project", {"dataset_dir": iris, "project_id": "\ud83d"}, 400, "project_id"),
        ("real mode", {"dataset_dir": iris, "mode": "real"}, 501, "VERIFILY_ENABLE_REAL_TRAIN=1"),
        ("unknown mode", {"dataset_dir": iris, "mode": "gpu"}, 400, "mode"),
        ("unknown field", {"dataset_dir": iris, "pipeline_config": "/etc/passwd"}, 422, ""),
        ("bad project", {"dataset_dir": iris, "project_id": "../x"}, 422, ""),
        ("not a string", {"dataset_dir": ["iris"]}, 422, ""),
    ]


def test_every_bad_input_is_refused_and_nothing_outside_is_touched(stack, monkeypatch):
    monkeypatch.delenv("VERIFILY_ENABLE_REAL_TRAIN", raising=False)
    tmp = stack.root.parent
    age_atimes(stack.outside)
    before = snapshot(stack.outside)
    runs_before = sorted(tmp.rglob("*retrain_*"))
    for name, body, status, words in bad_requests(stack):
        for path in ("/v1/retrain", "/v1/jobs/retrain"):
            r = post(stack, path, body)
            assert r.status_code == status, (name, path, r.status_code, r.text)
            assert words in str(r.json()["detail"]), (name, r.text)
    # Body size limit, declared and chunked (a generator body has no Content-Length).
    big = {"dataset_dir": "iris", "notes": "x" * 100_000}
    assert post(stack, "/v1/retrain", big).status_code == 413
    chunks = (b'{"dataset_dir": "iris", "notes": "' + b"x" * 8192 for _ in range(20))
    r = requests.post(
        f"{stack.api_url}/v1/jobs/retrain",
        data=chunks,
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 413
    assert snapshot(stack.outside) == before, "something outside the roots was read or written"
    # No run directory (staged or published) appeared anywhere.
    assert sorted(tmp.rglob("*retrain_*")) == runs_before


def test_api_key_required_except_health_and_openapi(stack):
    assert requests.get(f"{stack.api_url}/health", timeout=30).status_code == 200
    assert requests.get(f"{stack.api_url}/openapi.json", timeout=30).status_code == 200
    for method, path in [
        ("POST", "/v1/retrain"),
        ("POST", "/v1/jobs/retrain"),
        ("GET", "/v1/jobs/00000000-0000-0000-0000-000000000000"),
        ("GET", "/retraining/jobs"),
        ("POST", "/graphql"),
        ("POST", "/models/x/retrain"),
    ]:
        for headers in (
            {},
            {"X-API-Key": KEY[:-1]},
            {"X-API-Key": KEY + "x"},
            {"Authorization": "Bearer nope"},
        ):
            r = requests.request(method, stack.api_url + path, headers=headers, json={}, timeout=30)
            assert r.status_code == 401, (path, headers, r.status_code)
            assert "API key" in r.json()["detail"]
    ok = requests.get(
        f"{stack.api_url}/retraining/jobs", headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    )
    assert ok.status_code == 200
    # A queued submission needs no webserver: accepted, and QUEUED until a daemon runs it.
    r = post(stack, "/v1/jobs/retrain", {"dataset_dir": "iris", "project_id": "no-daemon"})
    assert r.status_code == 202 and r.json()["status"] == "QUEUED", r.text


def test_checked_value_is_used_value(stack):
    """A symlink inside the roots is accepted, and the run records its resolved target."""
    r = post(stack, "/v1/retrain", {"dataset_dir": "link_to_iris", "project_id": "sec"})
    assert r.status_code == 200, r.text
    cfg = yaml.safe_load((Path(r.json()["run_dir"]) / "config.yaml").read_text())
    assert cfg["request"]["dataset_dir"] == str(stack.root / "iris")
    assert Path(r.json()["run_dir"]).parent == stack.root / "runs"
    missing = post(stack, "/v1/retrain", {"dataset_dir": "no_such_dir", "project_id": "sec"})
    assert missing.status_code == 400 and "no_such_dir" in missing.json()["detail"]


def test_no_file_is_read_through_a_link_and_bad_content_is_named(stack, tmp_path):
    """What a request makes the server open: never a file behind a link (not even to hash it
    or count its records), and every bad record or contract a 4xx or a decision that says so."""
    age_atimes(stack.outside)
    before = snapshot(stack.outside)
    for name in ("evil", "evil_data"):
        r = post(stack, "/v1/retrain", {"dataset_dir": name, "project_id": "sec"})
        assert r.status_code == 400, (name, r.status_code, r.text)
        detail = r.json()["detail"]
        assert "is a symbolic link" in detail, detail
        assert "sha256" not in detail and "records" not in detail  # nothing about the target
    assert snapshot(stack.outside) == before, "a file outside the roots was read"

    # A record nested 10,000 deep: a 400 naming the file and line, not a 500.
    deep = stack.root / "deep"
    shutil.copytree(IRIS, deep)
    data = (deep / "dataset.jsonl").read_bytes().splitlines(keepends=True)
    data[2] = b'{"input": "x", "output": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n"
    (deep / "dataset.jsonl").write_bytes(b"".join(data))
    r = post(stack, "/v1/retrain", {"dataset_dir": "deep", "project_id": "sec"})
    assert r.status_code == 400, r.text
    assert f"{deep / 'dataset.jsonl'}:3: nested deeper than 100 levels" in r.json()["detail"]

    # A baseline whose hashes.json holds a number where a hash belongs: an INVESTIGATE that
    # names the problem, not a 500.
    base = stack.root / "bad_base"
    shutil.copytree(stack.root / "done" / "retrain_0001", base)
    contract = json.loads((base / "hashes.json").read_text())
    contract["files"]["config.yaml"] = 12345
    (base / "hashes.json").write_text(json.dumps(contract))
    r = post(stack, "/v1/retrain", {"dataset_dir": "iris", "base_run_dir": "bad_base",
                                    "project_id": "sec"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "INVESTIGATE"
    # Since run directories are signed, the first problem named is the edited contract itself
    # (its content no longer matches the attestation); validate lists the malformed value too.
    assert any(
        "baseline" in why and "does not verify" in why and "hashes.json" in why
        for why in r.json()["reasons"]
    ), r.json()
    out = subprocess.run(
        [sys.executable, "-m", "verifily", "validate", str(base)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 1 and "files['config.yaml'] is 12345" in out.stdout + out.stderr, out
