"""The risk service's margin-call proposal (for a member that chose approval) is the lender's own: another member's
risk key cannot propose on a repo it does not hold, and only under the pair's effective agreement."""

from __future__ import annotations

import uuid

from gateway.settlement_records.models import RepoRecord
from tests.gateway.conftest import Cast, Member, World
from tests.gateway.market import call, list_instrument
from tests.gateway.risk.test_agreements import CASH, _terms

SELLER, BUYER, BOND = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "d4" * 20
T0 = 1_796_400_000


def _key(member_admin: Member, scopes: list[str]) -> dict[str, str]:
    created = member_admin.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": scopes})
    assert created.status_code == 201, created.text
    return {"X-API-Key": str(created.json()["secret"]), "Idempotency-Key": str(uuid.uuid4())}


def test_only_the_holder_proposes_and_only_under_the_effective_agreement(world: World, cast: Cast) -> None:
    list_instrument(world, CASH, "cash", 2, "EURt")
    proposed = call(cast.a_approver, "/v1/risk/agreements", _terms(world, auto_call=False))
    assert proposed.status_code == 201, proposed.text
    agreement = proposed.json()["id"]
    assert call(cast.b_approver, f"/v1/risk/agreements/{agreement}/approve", {"auto_call": False}).status_code == 200
    with world.ctx.sessions.begin() as session:  # repo 7: A sells, B lends and holds the position
        session.add(
            RepoRecord(
                repo_id=7, seller=SELLER, buyer=BUYER, holder=BUYER, seller_org_id=world.orgs["a"],
                holder_org_id=world.orgs["b"], cash_token=CASH, collateral_token=BOND, collateral_amount="1100",
                purchase_price=str(10**12), rate=str(4 * 10**16), day_count_basis=360, haircut_bps=200,
                status="open", opened_at=T0, maturity=T0 + 7 * 86_400, period_start=T0, updated_block=8,
            )
        )  # fmt: skip
    body = {"repo_id": 7, "agreement_id": agreement, "call_amount": "250"}
    scopes = ["repos:read", "risk:act"]

    sellers = world.client.post("/v1/risk/margin-call-proposals", json=body, headers=_key(cast.a_admin, scopes))
    assert sellers.status_code == 404, sellers.text  # A's key: not a repo A holds
    other = {**body, "agreement_id": str(uuid.uuid4())}
    wrong = world.client.post("/v1/risk/margin-call-proposals", json=other, headers=_key(cast.b_admin, scopes))
    assert wrong.status_code == 403, wrong.text
    lenders = world.client.post("/v1/risk/margin-call-proposals", json=body, headers=_key(cast.b_admin, scopes))
    assert lenders.status_code == 202, lenders.text
    assert lenders.json()["kind"] == "margin_call" and lenders.json()["repo_id"] == 7
