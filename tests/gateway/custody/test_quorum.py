"""Four eyes on both sides of every trade: the responding side of direct terms has no initiator, yet an approver's
own approval never counts towards the quorum for the signature that person asks for; each custodial signature
leaves a consent record (who, which digest, when)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.custody.models import Consent
from gateway.db.models import Role
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, approve_member, call, custodial_wallet, list_instrument, market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def one_approval_for_every_trade(world: World, org: str) -> None:
    """Set by two of the member's administrators (a member's policy is theirs to change, four eyes)."""
    proposer = world.user(org, Role.MEMBER_ADMIN, f"{org}adm1")
    second = world.user(org, Role.MEMBER_ADMIN, f"{org}adm2")
    rules = [{"name": "every trade", "when": {}, "action": "require_approvals", "approvals": 1}]
    draft = call(proposer, "/v1/policy/drafts", {"rules": rules})
    assert draft.status_code == 201, draft.text
    decided = call(second, f"/v1/policy/drafts/{draft.json()['id']}/decision", {"approve": True})
    assert decided.status_code == 200, decided.text


def test_the_responding_approver_cannot_approve_and_sign_alone(world: World) -> None:
    a = world.user("a", Role.TRADER, "at")
    b1, b2 = world.user("b", Role.APPROVER, "b1"), world.user("b", Role.APPROVER, "b2")
    one_approval_for_every_trade(world, "b")
    wa, wb = custodial_wallet(a), custodial_wallet(b1)
    approve_member(world, "a")
    approve_member(world, "b")
    direct = call(
        a,
        "/v1/trades",
        {
            "role": "seller",
            "wallet_id": wa["id"],
            "counterparty_wallet": wb["address"],
            "cash_token": CASH,
            "collateral_token": BOND,
            "purchase_price": "1000",
            "collateral_amount": "1100",
            "rate": "0.03",
            "haircut_bps": 200,
            "tenor_seconds": 86_400,
        },
    )
    assert direct.status_code == 201, direct.text
    trade = direct.json()["id"]
    assert call(b1, f"/v1/trades/{trade}/approvals").status_code == 201  # b1 is not the initiator: allowed
    alone = call(b1, f"/v1/trades/{trade}/sign")
    assert alone.status_code == 409 and alone.json()["type"].endswith("/approval-required"), alone.text
    assert alone.json()["approvals"] == 0  # b1's own approval does not count for b1's signature
    with world.ctx.sessions() as session:
        assert session.scalars(select(Consent)).all() == []  # refused before any consent or signature
    assert call(b2, f"/v1/trades/{trade}/approvals").status_code == 201
    signed = call(b1, f"/v1/trades/{trade}/sign")  # b2 approved: four eyes
    assert signed.status_code == 200, signed.text
    assert signed.json()["trade"]["buyer"]["signed"]
    with world.ctx.sessions() as session:
        [consent] = session.scalars(select(Consent)).all()
        assert consent.user_id == b1.id and consent.organization_id == world.orgs["b"]
        assert consent.digest == signed.json()["trade"]["digest"] and consent.purpose == "terms"
    [shown] = b2.get(f"/v1/consents?subject=trade/{trade}").json()["data"]  # the member's own record
    assert shown["user_id"] == str(b1.id) and shown["digest"] == consent.digest
    assert a.get("/v1/consents").json() == {
        "data": [],
        "next_cursor": None,
    }  # another member's consents are not A's to see
