"""The registry's and the anchor's writes through the outbox on a real chain (Anvil and our node): a KYC approval
answers with the registration's settlement, and the wallets are verified in the IdentityRegistry once it is final;
a freeze, an approved member's new wallet and an audit anchor likewise; nothing waits for a receipt in the request,
and the write-transaction guard is on: no JSON-RPC call of these paths is made inside a database write transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Role
from tests.e2e.chains import deploy, start_chain
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import World, application_body

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=["anvil", "reponet-node"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Any]]:
    for chain in start_chain(request.param, tmp_path):
        d = deploy(chain)
        for w in chain_world(d, tmp_path, registry_outbox=True):
            yield w, d


def _final(client: Any, settlement_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/settlements/{settlement_id}/wait", params={"timeout": 60})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "final", answer.json()
    return dict(answer.json())


def test_kyc_freeze_wallets_and_anchors_reach_the_chain_through_the_outbox(world: tuple[World, Any]) -> None:
    w, d = world
    registry = d.registry
    officer = w.user("op", Role.COMPLIANCE_OFFICER, "o1")
    approver = w.user("a", Role.APPROVER, "ap")
    wallet = approver.post("/v1/wallets", json={"label": "desk"}).json()
    application = approver.post("/v1/kyc/applications", json=application_body(w, "a")).json()
    approved = officer.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["settlement_id"]
    _final(officer, approved.json()["settlement_id"])
    assert registry.functions.isVerified(wallet["address"]).call()
    org = officer.get(f"/v1/organizations/{w.orgs['a']}").json()
    assert org["onchain_identity_id"] == registry.functions.identityOf(wallet["address"]).call()
    [desk] = [x for x in approver.get("/v1/wallets").json()["data"] if x["id"] == wallet["id"]]
    assert desk["onchain_whitelisted"]

    later = approver.post("/v1/wallets", json={"label": "later"}).json()
    assert later["settlement_id"] and not later["onchain_whitelisted"]
    _final(approver, later["settlement_id"])
    assert registry.functions.isVerified(later["address"]).call()

    frozen = officer.post(f"/v1/organizations/{w.orgs['a']}/kyc/freeze", json={"reason": "e2e"})
    assert frozen.status_code == 200 and frozen.json()["kyc_status"] == "frozen", frozen.text
    _final(officer, frozen.json()["settlement_id"])
    assert not registry.functions.isVerified(wallet["address"]).call()

    anchored = officer.post("/v1/audit/anchor")
    assert anchored.status_code == 201, anchored.text
    sent = _final(officer, anchored.json()["settlement_id"])
    assert sent["steps"][0]["tx_hash"]
    verify = officer.get("/v1/audit/verify").json()
    assert verify["ok"] and verify["anchors_checked"] >= 1, verify
