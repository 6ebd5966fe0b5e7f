"""The `verifily` CLI end to end: retrain through Dagster, exit codes, bad input."""

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest

from tests.support.examples import IRIS, REPO
from tests.support.outbox import jobs_db_of, wait_drained_or_failed, wait_no_drainer
from tests.support.silent_server import SilentServer
from verifily.rundir.contract import validate_run_contract
from verifily.rundir.layout import list_run_dirs


def run_cli(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "verifily", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or REPO,
        timeout=300,
    )


def test_retrain_json_and_the_run_is_in_the_instance(dagster_home, tmp_path):
    out = tmp_path / "runs"
    p = run_cli(
        "retrain",
        "--dataset",
        str(IRIS),
        "--out",
        str(out),
        "--project",
        "iris",
        "--json",
        home=dagster_home,
    )
    resp = json.loads(p.stdout)
    assert set(resp) == {"run_dir", "decision", "exit_code", "eval_summary", "artifacts", "run_id"}
    assert (
        p.returncode
        == resp["exit_code"]
        == {"SHIP": 0, "DONT_SHIP": 1, "INVESTIGATE": 3}[resp["decision"]]
    )
    assert validate_run_contract(resp["run_dir"]) == []
    meta = json.loads((Path(resp["run_dir"]) / "run_meta.json").read_text())
    assert meta["dagster_run_id"] == resp["run_id"] and meta["status"] == "completed"
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(resp["run_id"])
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == "iris"
        assert instance.get_latest_materialization_event(dg.AssetKey("decision")) is not None


def test_retrain_human_summary_and_baseline(dagster_home, tmp_path):
    out = tmp_path / "runs"
    first = run_cli("retrain", "--dataset", str(IRIS), "--out", str(out), home=dagster_home)
    assert first.returncode == 0, first.stderr
    assert "Decision: SHIP" in first.stdout and "retrain_0001" in first.stdout
    second = run_cli(
        "retrain",
        "--dataset",
        str(IRIS),
        "--out",
        str(out),
        "--baseline",
        str(out / "retrain_0001"),
        "--seed",
        "3",
        home=dagster_home,
    )
    decision = json.loads((out / "retrain_0002" / "decision" / "decision.json").read_text())
    assert decision["baseline"]["source"] == str(out / "retrain_0001")
    assert "f1" in decision["deltas"]
    assert second.returncode == decision["exit_code"]


def test_dont_ship_exit_code(dagster_home, tmp_path):
    cfg = tmp_path / "strict.yaml"
    cfg.write_text("min_metric: 0.99\n")
    p = run_cli(
        "retrain",
        "--dataset",
        str(IRIS),
        "--out",
        str(tmp_path / "runs"),
        "--pipeline-config",
        str(cfg),
        home=dagster_home,
    )
    assert (
        p.returncode == 1 and "Decision: DONT_SHIP" in p.stdout and "below min_metric" in p.stdout
    )


def _break(art: Path, how: str) -> str:
    data = art / "dataset.jsonl"
    if how == "missing_dataset":
        data.unlink()
        return "dataset.jsonl: missing"
    if how == "hash_mismatch":
        data.write_bytes(data.read_bytes().replace(b"setosa", b"Setosa", 1))
        return "sha256 of dataset.jsonl"
    lines = data.read_bytes().splitlines(keepends=True)
    if how == "malformed_json":
        lines[6] = b'{"input": "x", "output": \n'
        expect = "dataset.jsonl:7: malformed JSON"
    elif how == "invalid_utf8":
        lines[9] = b'{"input": "\xc3\x28", "output": "y"}\n'
        expect = "dataset.jsonl:10: invalid UTF-8"
    elif how == "duplicate_ids":
        lines[4] = lines[3]
        expect = "dataset.jsonl:5: duplicate id 'iris-004'"
    elif how == "missing_input":
        lines[11] = b'{"output": "setosa"}\n'
        expect = "dataset.jsonl:12: missing required field 'input'"
    elif how == "empty":
        lines = []
        expect = "empty dataset"
    data.write_bytes(b"".join(lines))
    if how != "empty":
        return expect
    return expect


@pytest.mark.parametrize(
    "how",
    [
        "missing_dataset",
        "hash_mismatch",
        "malformed_json",
        "invalid_utf8",
        "duplicate_ids",
        "missing_input",
        "empty",
    ],
)
def test_bad_input_is_one_clear_line_and_no_finished_run(dagster_home, iris_copy, tmp_path, how):
    expect = _break(iris_copy, how)
    out = tmp_path / "runs"
    p = run_cli("retrain", "--dataset", str(iris_copy), "--out", str(out), home=dagster_home)
    assert p.returncode == 65, p.stderr
    assert expect in p.stderr and "Traceback" not in p.stderr
    assert str(iris_copy) in p.stderr
    assert list_run_dirs(out) == []
    assert not any(x.name.startswith("retrain_") for x in out.iterdir()) if out.exists() else True
    v = run_cli("verify", str(iris_copy), home=dagster_home)
    assert v.returncode == 65 and expect in v.stderr


def test_usage_errors_and_gated_real_mode(dagster_home, tmp_path):
    p = run_cli("retrain", "--out", str(tmp_path), home=dagster_home)
    assert p.returncode == 2 and "--dataset" in p.stderr
    p = run_cli(
        "retrain",
        "--dataset",
        str(IRIS),
        "--out",
        str(tmp_path / "r"),
        "--mode",
        "real",
        home=dagster_home,
    )
    assert p.returncode == 69 and "VERIFILY_ENABLE_REAL_TRAIN=1" in p.stderr
    assert list_run_dirs(tmp_path / "r") == []


def test_validate_command(dagster_home, tmp_path):
    p = run_cli(
        "retrain",
        "--dataset",
        str(IRIS),
        "--out",
        str(tmp_path / "runs"),
        "--json",
        home=dagster_home,
    )
    run_dir = Path(json.loads(p.stdout)["run_dir"])
    ok = run_cli("validate", str(run_dir), home=dagster_home)
    assert ok.returncode == 0 and "VALID" in ok.stdout
    (run_dir / "usage.json").write_text("{}")
    (run_dir / "config.yaml").unlink()
    bad = run_cli("validate", str(run_dir), home=dagster_home)
    assert bad.returncode == 1
    assert "usage.json: hash mismatch" in bad.stdout and "config.yaml: missing file" in bad.stdout


def test_ingest_and_verify_commands(dagster_home, tmp_path):
    src = REPO / "examples" / "iris" / "source" / "iris.csv"
    cols = [
        "--input-col",
        "sepal_length_cm",
        "--input-col",
        "sepal_width_cm",
        "--input-col",
        "petal_length_cm",
        "--input-col",
        "petal_width_cm",
        "--output-col",
        "species",
    ]
    p = run_cli(
        "ingest", str(src), "--out", str(tmp_path / "art"), *cols, "--json", home=dagster_home
    )
    assert p.returncode == 0, p.stderr
    # The bundled example is exactly what ingest makes of its source.
    assert (
        json.loads(p.stdout)["dataset_hash"]
        == json.loads((IRIS / "hashes.json").read_text())["dataset_hash"]
    )
    again = run_cli("ingest", str(src), "--out", str(tmp_path / "art"), *cols, home=dagster_home)
    assert again.returncode == 65 and "refusing to overwrite" in again.stderr
    v = run_cli("verify", str(tmp_path / "art"), "--integrity-only", home=dagster_home)
    assert v.returncode == 0 and "150 records" in v.stdout


@pytest.mark.slow
def test_eight_concurrent_cli_retrains_share_nothing(dagster_home, tmp_path):
    out = tmp_path / "runs"

    def one(seed: int) -> subprocess.CompletedProcess:
        return run_cli(
            "retrain",
            "--dataset",
            str(IRIS),
            "--out",
            str(out),
            "--seed",
            str(seed),
            "--json",
            home=dagster_home,
        )

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(8)))
    assert all(r.returncode in (0, 1, 3) for r in results), [r.stderr[-500:] for r in results]
    dirs = {json.loads(r.stdout)["run_dir"] for r in results}
    assert len(dirs) == 8 and len(list_run_dirs(out)) == 8
    for d in dirs:
        assert validate_run_contract(d) == []
    assert not [p for p in out.iterdir() if p.name.startswith(".retrain_")]


def _dagster_runs(home: Path) -> int:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return len(instance.get_runs())


def _one_line(stderr: str) -> str:
    """The error, which must be exactly one line and never a traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("project", ["../../escape", "x/y", "a" * 300, "-rf"])
def test_a_bad_model_id_is_refused_before_anything_is_written(dagster_home, tmp_path, project):
    p = run_cli(
        "retrain", "--dataset", str(IRIS), "--out", str(tmp_path / "runs"), "--project", project,
        home=dagster_home,
    )  # fmt: skip
    assert p.returncode == 65
    assert "is not a valid model id" in _one_line(p.stderr)
    # No Dagster run, no pickles anywhere (inside or outside the storage), no run directory.
    assert _dagster_runs(dagster_home) == 0
    assert not (dagster_home / "storage").exists() or not any(
        f.suffix == ".pkl" for f in (dagster_home / "storage").rglob("*")
    )
    assert not any(f.suffix == ".pkl" for f in tmp_path.rglob("*"))
    assert not (tmp_path / "runs").exists()


def test_an_output_directory_never_lands_in_an_input_or_a_finished_run(dagster_home, tmp_path):
    out = tmp_path / "runs"
    first = run_cli("retrain", "--dataset", str(IRIS), "--out", str(out), home=dagster_home)
    assert first.returncode == 0, first.stderr
    base = out / "retrain_0001"
    dataset = tmp_path / "iris"
    shutil.copytree(IRIS, dataset)
    before = {p: p.read_bytes() for p in dataset.rglob("*") if p.is_file()}
    cases = [
        (["--out", str(base), "--baseline", str(base)], "is inside base_run_dir"),
        (["--out", str(base)], "is a finished run directory"),
        (["--out", str(base / "eval")], "retrain_0001, a finished run directory"),
        (["--out", str(dataset)], "is inside dataset_dir"),
        (["--out", str(dataset / "runs")], "is inside dataset_dir"),
        (["--out", str(tmp_path / "x"), "--contaminated", str(tmp_path)], "contaminated_run_dir"),
    ]
    for extra, problem in cases:
        p = run_cli("retrain", "--dataset", str(dataset), *extra, home=dagster_home)
        assert p.returncode == 65, (extra, p.stderr)
        assert problem in _one_line(p.stderr)
    # Inputs are never written: the baseline still validates, the dataset is byte-identical.
    assert validate_run_contract(base) == []
    assert {p: p.read_bytes() for p in dataset.rglob("*") if p.is_file()} == before
    assert _dagster_runs(dagster_home) == 1  # only the first, good retrain


@pytest.mark.parametrize("how", ["invalid_utf8", "directory", "unsafe_yaml"])
def test_a_bad_pipeline_config_is_one_line_naming_it(dagster_home, tmp_path, how):
    cfg = tmp_path / "pipeline.yaml"
    if how == "invalid_utf8":
        cfg.write_bytes(b"min_metric: 0.5\n\xff\xfe\n")
        problem = "not valid UTF-8"
    elif how == "directory":
        cfg.mkdir()
        problem = "is a directory"
    else:
        cfg.write_text("min_metric: !!python/object/apply:os.system ['true']\n")
        problem = "not valid YAML"
    p = run_cli(
        "retrain", "--dataset", str(IRIS), "--out", str(tmp_path / "runs"),
        "--pipeline-config", str(cfg), home=dagster_home,
    )  # fmt: skip
    assert p.returncode == 65
    line = _one_line(p.stderr)
    assert str(cfg) in line and problem in line
    assert _dagster_runs(dagster_home) == 0


def test_a_disabled_mode_is_one_line_exit_69_and_no_dagster_run(dagster_home, tmp_path):
    env_without = {k: v for k, v in os.environ.items() if k != "VERIFILY_ENABLE_REAL_TRAIN"}
    p = subprocess.run(
        [sys.executable, "-m", "verifily", "retrain", "--dataset", str(IRIS),
         "--out", str(tmp_path / "runs"), "--mode", "real"],
        capture_output=True, text=True, timeout=300,
        env={**env_without, "DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert p.returncode == 69
    assert _one_line(p.stderr) == (
        "error: real training mode is disabled; set VERIFILY_ENABLE_REAL_TRAIN=1 to enable it"
    )
    assert p.stdout == ""
    assert _dagster_runs(dagster_home) == 0


def _timed_retrain(
    home: Path, out: Path, uri: str | None
) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    else:
        env["VERIFILY_MLFLOW_ENABLED"] = "0"
    t0 = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "verifily", "retrain", "--dataset", str(IRIS), "--out", str(out),
         "--project", "iris", "--json"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    return time.monotonic() - t0, p


@pytest.mark.slow
def test_a_tracking_server_that_never_answers_never_slows_a_retrain(dagster_home, tmp_path):
    """MLflow's default is 120 s per request and minutes of retries. A retrain does not talk
    to MLflow at all: it finishes in its normal time (within the 5 s request timeout of it),
    its detached drainer gives up after bounded requests, and the next retrain says, in one
    line, that tracking is behind."""
    reference, p = _timed_retrain(dagster_home, tmp_path / "ref", None)
    assert p.returncode == 0, p.stderr
    server = SilentServer().start()
    try:
        first, p = _timed_retrain(dagster_home, tmp_path / "runs", server.url)
        resp = json.loads(p.stdout)  # stdout stays clean JSON
        assert p.returncode == 0 and resp["decision"] == "SHIP", p.stderr
        assert p.stderr == ""  # nothing was behind before this retrain
        assert first < reference + 5.0, (first, reference)
        status = wait_drained_or_failed(jobs_db_of(dagster_home))
        assert "Read timed out" in status["last_error"]["error"], status
        wait_no_drainer(dagster_home.parent)
        second, p = _timed_retrain(dagster_home, tmp_path / "runs", server.url)
        assert p.returncode == 0 and second < reference + 5.0, (second, reference, p.stderr)
        line = _one_line(p.stderr)
        assert line.startswith("warning: MLflow tracking is behind (1 earlier retrain(s)"), line
        assert "Read timed out" in line
        status = wait_drained_or_failed(jobs_db_of(dagster_home))
        wait_no_drainer(dagster_home.parent)
    finally:
        server.stop()
    # Each request the drainers made was given up by the client after the 5 s timeout.
    assert server.held
    for h in server.held:
        assert h.closed is not None and 4.5 <= h.closed - h.opened < 10, server.held
    assert status["pending_retrains"] == 2  # nothing lost: both wait for MLflow


def test_an_unreachable_tracking_server_is_one_warning_line(dagster_home, tmp_path):
    _, p = _timed_retrain(dagster_home, tmp_path / "runs", "http://127.0.0.1:1")
    assert p.returncode == 0 and json.loads(p.stdout)["decision"] == "SHIP"
    wait_drained_or_failed(jobs_db_of(dagster_home))
    wait_no_drainer(dagster_home.parent)
    _, p = _timed_retrain(dagster_home, tmp_path / "runs", "http://127.0.0.1:1")
    line = _one_line(p.stderr)
    assert line.startswith("warning: MLflow tracking is behind") and "Connection refused" in line


def test_a_full_disk_is_one_line_and_leaves_no_partial_artifact(dagster_home, tmp_path):
    """Writes fail the way a full disk fails them (the file-size limit makes the kernel
    refuse the write with EFBIG, no root or tmpfs needed): one line, exit 70, nothing left."""
    import resource
    import signal

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    src = REPO / "examples" / "iris" / "source" / "iris.csv"
    p = subprocess.run(
        [sys.executable, "-m", "verifily", "ingest", str(src), "--out", str(tmp_path / "art"),
         "--input-col", "sepal_length_cm", "--output-col", "species"],
        capture_output=True, text=True, timeout=300, preexec_fn=limit_file_size,
        env={**os.environ, "DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert p.returncode == 70
    assert "File too large" in _one_line(p.stderr)
    assert [p.name for p in tmp_path.iterdir() if p != dagster_home] == []  # nothing partial
