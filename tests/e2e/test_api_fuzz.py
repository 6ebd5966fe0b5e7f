"""Property-based fuzzing of the OpenAPI document (schemathesis): no input yields a 5xx.

The stack has no daemon: fuzzed queued jobs are accepted and stay QUEUED instead of launching a
hundred run workers on two cores.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.support.api_servers import make_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api_fuzz")
    models = tmp / "models.yaml"
    models.write_text("models:\n  - id: iris-model\n    dataset_dir: data/iris\n")
    s = make_stack(tmp, daemon=False, api_env={"VERIFILY_MODELS_CONFIG": str(models)})
    yield schemathesis.openapi.from_url(f"{s.api_url}/openapi.json")
    s.stop()


def test_no_server_errors(api_schema):
    """Every operation, 30 generated cases each (schemathesis' pytest plugin is not used: its
    lazy fixture loader does not work with this pytest)."""
    failures = []
    ops = [r.ok() for r in api_schema.get_all_operations()]
    assert len(ops) >= 9, [op.label for op in ops]
    for op in ops:

        @given(case=op.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            case.call_and_validate(checks=[not_a_server_error], timeout=60)

        try:
            fuzz()
        except Exception as e:  # collect every operation's failure, then report them all
            failures.append(f"{op.label}: {e}")
    assert not failures, "\n\n".join(failures)
