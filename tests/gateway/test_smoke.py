"""The main flow on both databases: member applies, second officer approves, wallet whitelisted, revoked."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db.models import Role
from tests.gateway.conftest import World, application_body, make_world


@pytest.fixture
def both_world(tmp_path: Path, any_db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, any_db_url)


def test_onboarding_flow_on_both_databases(both_world: World) -> None:
    world = both_world
    officer1 = world.user("op", Role.COMPLIANCE_OFFICER, "o1")
    officer2 = world.user("op", Role.COMPLIANCE_OFFICER, "o2")
    approver = world.user("a", Role.APPROVER, "ap")
    wallet = approver.post("/v1/wallets", json={"label": "desk"}).json()
    body = application_body(world, "a", organization_id=str(world.orgs["a"]))
    application = officer1.post("/v1/kyc/applications", json=body).json()
    assert (
        officer1.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True}).status_code == 409
    )
    assert (
        officer2.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True}).status_code == 200
    )
    assert world.chain.is_verified(wallet["address"])
    tokens = approver.login()
    assert world.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 200
    assert world.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    revoke = officer2.post(f"/v1/organizations/{world.orgs['a']}/kyc/revoke", json={"reason": "test"})
    assert revoke.status_code == 200
    assert not world.chain.is_verified(wallet["address"])
    assert officer1.get("/v1/audit/verify").json()["ok"]
