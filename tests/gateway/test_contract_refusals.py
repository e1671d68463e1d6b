"""A contract's custom error is the client's to fix, not an outage: approving KYC before the member has a wallet
reverts ``IdentityNoWallets()``, which the gateway answers 409 ``contract-refused`` naming the error (nothing
changed); a node that does not answer stays 503 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from gateway.chain.outage import reachability
from gateway.chain.web3_client import Web3Chain
from gateway.db.models import Role
from tests.gateway.conftest import Member, World, application_body, make_world
from tests.gateway.fakechain import FakeNode, fake_web3

IDENTITY_NO_WALLETS = "0x" + keccak(text="IdentityNoWallets()")[:4].hex()


class RevertingNode(FakeNode):
    """Every call and gas estimate reverts with ``revert_data``, answered as the node answers (code 3)."""

    revert_data = IDENTITY_NO_WALLETS

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        if method in ("eth_call", "eth_estimateGas"):
            return {"error": {"code": 3, "message": "execution reverted", "data": self.revert_data}}
        return super()._answer(method, params)


@pytest.fixture
def node() -> Iterator[RevertingNode]:
    yield RevertingNode()
    reachability.answered()


@pytest.fixture
def world(tmp_path: Path, db_url: str, node: RevertingNode) -> Iterator[World]:
    chain = Web3Chain(
        fake_web3(node), account=Account.create(), identity_registry="0x" + "1d" * 20, audit_anchor="0x" + "a0" * 20
    )
    yield from make_world(tmp_path, db_url, chain=chain)


def apply(world: World) -> tuple[Member, str]:
    officer = world.user("op", Role.COMPLIANCE_OFFICER, "o")
    applicant = world.user("a", Role.APPROVER, "ap")
    application = applicant.post("/v1/kyc/applications", json=application_body(world, "a")).json()
    return officer, str(application["id"])


def approve(officer: Member, application_id: str) -> Any:
    return officer.post(f"/v1/kyc/applications/{application_id}/decision", json={"approve": True})


def test_a_custom_error_is_a_named_409_and_changes_nothing(world: World) -> None:
    officer, application_id = apply(world)
    response = approve(officer, application_id)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"].endswith("/contract-refused") and problem["contract_error"] == "IdentityNoWallets"
    assert "IdentityNoWallets()" in problem["detail"] and "Retry-After" not in response.headers
    assert officer.get(f"/v1/kyc/applications/{application_id}").json()["status"] == "pending_review"
    assert officer.get(f"/v1/organizations/{world.orgs['a']}").json()["onchain_identity_id"] is None


def test_an_unknown_revert_stays_a_chain_error_and_an_outage_stays_503(world: World, node: RevertingNode) -> None:
    officer, application_id = apply(world)
    node.revert_data = "0xdeadbeef"
    unknown = approve(officer, application_id)
    assert unknown.status_code == 502 and unknown.json()["type"].endswith("/chain")
    node.down = True
    outage = approve(officer, application_id)
    assert outage.status_code == 503 and outage.headers["Retry-After"]
