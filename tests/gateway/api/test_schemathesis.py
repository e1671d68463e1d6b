"""Property-based API tests from the OpenAPI schema, in process: no 5xx, and every response matches its schema.

Schemathesis's own pytest plugin does not work with this pytest version, so the operations' Hypothesis
strategies are driven directly."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from gateway.db.migrate import upgrade
from gateway.db.models import Role
from tests.gateway.conftest import Member, World, make_world

EXAMPLES = 8


@pytest.fixture(params=[("a", Role.APPROVER), ("op", Role.COMPLIANCE_OFFICER)], ids=["member", "officer"])
def fuzz_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Member]]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    org, role = request.param
    for world in make_world(tmp_path, url):
        yield world, world.user(org, role, "fuzzer")


def test_api_conforms_to_its_schema(fuzz_world: tuple[World, Member]) -> None:
    world, member = fuzz_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=member.headers, checks=[not_a_server_error, response_schema_conformance])

        check()
