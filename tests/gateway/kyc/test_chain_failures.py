"""The chain is the golden record: when a registry call fails, nothing changes here either."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.chain.memory import InMemoryChain
from gateway.db.models import Role
from gateway.exceptions import ChainError
from tests.gateway.conftest import World, application_body, make_world


class BrokenChain(InMemoryChain):
    def register_identity(self, **kwargs: object) -> int:  # type: ignore[override]
        raise ChainError("node unreachable")


@pytest.fixture
def broken_world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, db_url, chain=BrokenChain())


def test_failed_registration_rolls_back_approval(broken_world: World) -> None:
    world = broken_world
    officer = world.user("op", Role.COMPLIANCE_OFFICER, "o")
    approver = world.user("a", Role.APPROVER, "ap")
    wallet = approver.post("/v1/wallets", json={"label": "w"}).json()
    application = approver.post("/v1/kyc/applications", json=application_body(world, "a")).json()
    response = officer.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("application/problem+json")
    assert officer.get(f"/v1/kyc/applications/{application['id']}").json()["status"] == "pending_review"
    org = officer.get(f"/v1/organizations/{world.orgs['a']}").json()
    assert org["kyc_status"] == "pending" and org["onchain_identity_id"] is None
    assert not approver.get(f"/v1/wallets/{wallet['id']}").json()["onchain_whitelisted"]
