"""Contract tests from the OpenAPI document, in process, over every operation as four roles (a member's approver
and trader, a compliance officer, the operator's admin): no 5xx, every status declared, every response of the
declared media type and valid against its declared schema.

Schemathesis's own pytest plugin does not work with this pytest version, so the operations' Hypothesis
strategies are driven directly. ``REPONET_FUZZ_EXAMPLES`` raises the examples per operation for a longer run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.db.migrate import upgrade
from gateway.db.models import Role
from tests.gateway.conftest import Member, World, make_world

EXAMPLES = int(os.environ.get("REPONET_FUZZ_EXAMPLES", "4"))
ROLES = [
    ("a", Role.APPROVER),
    ("b", Role.TRADER),
    ("op", Role.COMPLIANCE_OFFICER),
    ("op", Role.OPERATOR_ADMIN),
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(params=ROLES, ids=[role.value for _, role in ROLES])
def fuzz_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Member]]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    org, role = request.param
    for world in make_world(tmp_path, url):
        yield world, world.user(org, role, "fuzzer")


@pytest.mark.slow
def test_api_conforms_to_its_schema(fuzz_world: tuple[World, Member]) -> None:
    world, member = fuzz_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 85
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=member.headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # keep going: one run reports every operation that breaks its contract
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert failures == [], "\n\n".join(failures)
