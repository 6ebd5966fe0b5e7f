"""The README's jobs API reference cannot drift: every curl and SDK example in it runs as written
against a live `verifily serve` + `dagster-daemon` (nothing else), each answer has the fields
the README shows, every route the API serves is documented, and so is every request field."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import requests

from tests.support.api_servers import make_stack
from tests.support.examples import IRIS, REPO
from verifily.api.schemas import RetrainRequestBody

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SECTION = "## Jobs API, SDK and GraphQL"
KEY = "readme-examples-key"


def section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + 1)]


def blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block of the section, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", section(), re.S)


def curl_examples() -> list[tuple[str, object]]:
    """(bash code, the JSON the README shows after it, or None) for every curl example."""
    found = []
    bs = blocks()
    for i, (lang, code) in enumerate(bs):
        if lang == "bash" and "curl " in code:
            after = bs[i + 1] if i + 1 < len(bs) else None
            found.append((code, json.loads(after[1]) if after and after[0] == "json" else None))
    return found


def shape_problems(doc, got, where: str = "$") -> list[str]:
    """Where `got` lacks (or adds) a field the README shows, recursively; values may differ."""
    if doc is None or got is None:
        return []
    if isinstance(doc, dict):
        if not isinstance(got, dict):
            return [f"{where}: README shows an object, got {type(got).__name__}"]
        problems = []
        if set(doc) != set(got):
            problems.append(f"{where}: README shows {sorted(doc)}, the API answers {sorted(got)}")
        for k in set(doc) & set(got):
            problems += shape_problems(doc[k], got[k], f"{where}.{k}")
        return problems
    if isinstance(doc, list):
        if not isinstance(got, list):
            return [f"{where}: README shows a list, got {type(got).__name__}"]
        return shape_problems(doc[0], got[0], f"{where}[0]") if doc and got else []
    kinds = (bool, (int, float), str)
    for kind in kinds:
        if isinstance(doc, kind) and not isinstance(got, kind):
            return [f"{where}: README shows {doc!r}, the API answers {got!r}"]
    return []


def test_the_shape_check_can_fail():
    assert shape_problems({"a": 1, "b": {"c": "x"}}, {"a": 2, "b": {"c": "y"}}) == []
    assert shape_problems({"a": 1}, {"a": 1, "b": 2})
    assert shape_problems({"a": {"c": 1}}, {"a": {"d": 1}})
    assert shape_problems({"a": [{"c": 1}]}, {"a": [{"d": 1}]})
    assert shape_problems({"a": "x"}, {"a": 3})


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readme")
    s = make_stack(tmp, api_env={"VERIFILY_API_KEY": KEY})
    # The README runs from the repository root with VERIFILY_DATA_ROOTS=$PWD: the same paths.
    shutil.copytree(IRIS, s.root / "examples" / "iris" / "artifact")
    models = s.root / "models.yaml"
    models.write_text(
        "sensor_interval_seconds: 1\n"
        "models:\n  - id: iris\n    dataset_dir: examples/iris/artifact\n"
    )
    s.kill("api")
    s.kill("daemon")
    for env in (s.env, s.api_env):
        env["VERIFILY_MODELS_CONFIG"] = str(models)
    s.start_daemon()
    s.start_api()
    s.workdir = tmp / "cwd"
    s.workdir.mkdir()
    yield s
    s.stop()


def test_every_curl_example_runs_and_answers_what_the_readme_shows(stack):
    examples = curl_examples()
    assert len(examples) >= 12, "the reference lost its examples"
    script = ["set -euo pipefail"]
    for i, (code, _doc) in enumerate(examples):
        script += [f"echo '@@example {i}@@'", code]
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=stack.workdir,
        env={**os.environ, "VERIFILY_URL": stack.api_url, "VERIFILY_API_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=900,
    )
    outputs = re.split(r"@@example (\d+)@@\n", proc.stdout)[1:]
    ran = dict(zip(map(int, outputs[::2]), outputs[1::2], strict=True))
    assert proc.returncode == 0, (
        f"example {max(ran, default=-1)} failed:\n{examples[max(ran, default=0)][0]}\n"
        f"{proc.stderr[-2000:]}"
    )
    problems = []
    for i, (code, doc) in enumerate(examples):
        if doc is None:
            continue
        try:
            got = json.loads(ran[i])
        except ValueError:
            problems.append(f"example {i} printed no JSON: {ran[i][:500]!r}\n{code}")
            continue
        problems += [f"example {i}: {p}\n{code}" for p in shape_problems(doc, got)]
    assert not problems, "\n\n".join(problems)


def test_every_sdk_example_runs(stack):
    examples = [code for lang, code in blocks() if lang == "python"]
    assert examples and all("VerifilyClient" in code for code in examples)
    for code in examples:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=stack.workdir,
            env={**os.environ, "VERIFILY_URL": stack.api_url, "VERIFILY_API_KEY": KEY},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, f"{code}\n{proc.stderr[-3000:]}"
        assert "SUCCEEDED" in proc.stdout and "404 no job" in proc.stdout, proc.stdout


def test_every_route_and_request_field_is_documented(stack):
    text = section()

    def norm(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path)

    documented = {(m, norm(p)) for m, p in re.findall(r"\*\*`(GET|POST) ([^`]+)`\*\*", text)} | {
        ("POST", "/graphql")
    }
    spec = requests.get(f"{stack.api_url}/openapi.json", timeout=30).json()
    served = {(m.upper(), norm(p)) for p, ops in spec["paths"].items() for m in ops}
    assert served <= documented, sorted(served - documented)
    for field in RetrainRequestBody.model_fields:
        assert f"| `{field}` |" in text, f"request field {field} is not in the table"
