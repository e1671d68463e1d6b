"""The approver's desk: /v1/approvals lists what the member's policy sends to approval with the rule that asks, and
who may still say yes (never the initiator, never twice); a rejection with its reason cancels the trade for both
parties, reaches the counterparty's stream, is audited, and is refused once the member's side has signed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.db.models import AuditEntry, Role
from gateway.events.bus import EventBus
from gateway.settlement_records.models import Instruction, RepoRecord
from gateway.trading.models import Rejection
from tests.gateway.conftest import Member, World
from tests.gateway.market import BOND, CASH, call, custodial_wallet, hub_of, list_instrument, market_world
from tests.gateway.trading.test_trading_policy import agreed_trade, over_limit_policy, policy_admins


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


FAR = "9999999999"  # a deadline in 2286


def _queue(member: Member) -> list[dict[str, Any]]:
    response = member.get("/v1/approvals")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_the_queue_shows_the_rule_and_who_may_still_approve(world: World) -> None:
    initiator = world.user("a", Role.APPROVER, "initiator")
    ap1, ap2 = world.user("a", Role.APPROVER, "ap1"), world.user("a", Role.APPROVER, "ap2")
    b = world.user("b", Role.TRADER, "bt")
    assert b.get("/v1/approvals").status_code == 403  # a trader approves nothing
    over_limit_policy(world, *policy_admins(world))
    small, _ = agreed_trade(world, initiator, b, pp="1000")
    trade, _ = agreed_trade(world, initiator, b)
    ids = [item["id"] for item in _queue(ap1)]
    assert ids == [trade["id"]]  # the small trade needs no approval; the buyer's side is B's policy, not A's
    item = _queue(ap1)[0]
    assert item["rule"] == "large" and item["approvals_needed"] == 2 and item["approvals_given"] == 0
    assert item["side"] == "seller" and item["notional"] == "1000000.250000" and item["cash_token"].lower() == CASH
    assert item["may_approve"] and not item["approved_by_me"]
    assert not _queue(initiator)[0]["may_approve"]  # four eyes: the initiator sees it but cannot say yes
    assert _queue(world.user("b", Role.APPROVER, "bap")) == []  # B has no rule: nothing waits on its side

    assert call(ap1, f"/v1/trades/{trade['id']}/approvals").status_code == 201
    mine = _queue(ap1)[0]
    assert mine["approvals_given"] == 1 and mine["approved_by_me"] and not mine["may_approve"]
    assert _queue(ap2)[0]["may_approve"]
    assert call(ap2, f"/v1/trades/{trade['id']}/approvals").status_code == 201
    [met] = _queue(ap1)  # listed until A signs: the signer's own approval would not count
    assert met["quorum_met"] and met["approvals_given"] == 2 and not met["may_approve"]
    assert not mine["quorum_met"]
    assert small["id"] not in [i["id"] for i in _queue(ap2)]
    assert call(initiator, f"/v1/trades/{trade['id']}/sign").status_code == 200
    assert _queue(ap1) == []  # signed: nothing waits


def test_a_rejection_cancels_the_trade_for_both_with_its_reason(world: World) -> None:
    hub = hub_of(world)
    hub.bus = EventBus()
    initiator = world.user("a", Role.APPROVER, "initiator")
    ap1 = world.user("a", Role.APPROVER, "ap1")
    a_trader = world.user("a", Role.TRADER, "at")
    b = world.user("b", Role.TRADER, "bt")
    over_limit_policy(world, *policy_admins(world))
    trade, _ = agreed_trade(world, initiator, b)
    path = f"/v1/trades/{trade['id']}/rejections"
    assert call(a_trader, path, {"reason": "too large for today"}).status_code == 403  # a trader cannot say no for A
    short = call(ap1, path, {"reason": "  "})
    assert short.status_code == 422  # a no says why
    assert call(b, path, {"reason": "not yours"}).status_code == 403  # B's trader: no approver's right
    with world.client.websocket_connect("/v1/stream", headers=b.headers) as ws_b:
        assert ws_b.receive_json()["type"] == "subscribed"
        rejected = call(ap1, path, {"reason": "over the desk's limit for this counterparty"})
        assert rejected.status_code == 201, rejected.text
        assert rejected.json()["status"] == "cancelled"
        event = ws_b.receive_json()
    assert event["type"] == "trade.rejected" and event["data"]["trade_id"] == trade["id"]
    assert event["data"]["side"] == "seller"
    assert event["data"]["reason"] == "over the desk's limit for this counterparty"
    seen_by_b = b.get(f"/v1/trades/{trade['id']}").json()
    assert seen_by_b["status"] == "cancelled"
    assert seen_by_b["rejection_reason"] == "over the desk's limit for this counterparty"  # the why, for both
    listed = [t for t in initiator.get("/v1/trades").json()["data"] if t["id"] == trade["id"]]
    assert [t["rejection_reason"] for t in listed] == ["over the desk's limit for this counterparty"]
    assert _queue(ap1) == []
    again = call(ap1, path, {"reason": "twice"})
    assert again.status_code == 409 and again.json()["type"].endswith("/invalid-state")
    assert call(initiator, f"/v1/trades/{trade['id']}/sign").status_code == 409  # nothing signs a cancelled trade
    assert call(ap1, f"/v1/trades/{trade['id']}/approvals").status_code == 409
    with world.ctx.read_sessions() as session:
        rows = list(session.scalars(select(Rejection)))
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "trade.rejected")).one()
    assert [(r.subject, str(r.subject_id), r.reason) for r in rows] == [
        ("trade", trade["id"], "over the desk's limit for this counterparty")
    ]
    assert audit.object_id == trade["id"] and audit.actor.endswith(str(ap1.id))


def test_no_rejection_once_the_members_side_has_signed(world: World) -> None:
    a = world.user("a", Role.APPROVER, "a_signer")
    b_trader, b_approver = world.user("b", Role.TRADER, "bt"), world.user("b", Role.APPROVER, "bap")
    trade, _ = agreed_trade(world, a, b_trader)
    signed = call(a, f"/v1/trades/{trade['id']}/sign")
    assert signed.status_code == 200, signed.text
    late = call(a, f"/v1/trades/{trade['id']}/rejections", {"reason": "changed my mind"})
    assert late.status_code == 409 and "signed" in late.json()["detail"]
    assert a.get(f"/v1/trades/{trade['id']}").json()["status"] == "pending_signatures"
    # The counterparty, which has not signed, may still say no: the trade then ends for both.
    no = call(b_approver, f"/v1/trades/{trade['id']}/rejections", {"reason": "collateral not eligible for us"})
    assert no.status_code == 201 and no.json()["status"] == "cancelled"


def test_an_instruction_over_the_limit_waits_and_its_rejection_ends_it(world: World) -> None:
    """An amendment the counterparty proposed on an indexed repo: A's policy sends it to A's approvers; A's no
    rejects it for both (the repo and instruction rows stand in for what the indexer and B's proposal wrote)."""
    ap1 = world.user("a", Role.APPROVER, "ap1")
    b_trader = world.user("b", Role.TRADER, "bt")
    over_limit_policy(world, *policy_admins(world))
    a_wallet, b_wallet = custodial_wallet(ap1)["address"], custodial_wallet(b_trader)["address"]
    with world.ctx.sessions.begin() as session:
        session.add(
            RepoRecord(
                repo_id=7, seller=a_wallet, buyer=b_wallet, holder=b_wallet, seller_org_id=world.orgs["a"],
                holder_org_id=world.orgs["b"], cash_token=CASH, collateral_token=BOND, collateral_amount="105000000",
                purchase_price="1000000250000", rate="0", day_count_basis=360, haircut_bps=0, status="open",
                opened_at=0, maturity=604_800, period_start=0,
            )
        )  # fmt: skip
        instruction = Instruction(
            repo_id=7, kind="Amendment", required=[a_wallet.lower(), b_wallet.lower()],
            created_by=f"user:{b_trader.id}",
            message={"repoId": "7", "kind": "1", "newMaturity": "0", "newRate": "1", "nonce": "1", "deadline": FAR},
        )  # fmt: skip
        expired = Instruction(
            repo_id=7, kind="Amendment", required=[a_wallet.lower(), b_wallet.lower()],
            created_by=f"user:{b_trader.id}",
            message={"repoId": "7", "kind": "1", "newMaturity": "0", "newRate": "2", "nonce": "2", "deadline": "9"},
        )  # fmt: skip
        session.add_all([instruction, expired])  # past its deadline: nothing can submit it, so it is not listed
        session.flush()
        instruction_id = str(instruction.id)
    [item] = _queue(ap1)
    assert item["subject"] == "instruction" and item["id"] == instruction_id and item["repo_id"] == 7
    assert item["rule"] == "large" and item["instruction_kind"] == "Amendment" and item["may_approve"]
    assert item["notional"] == "1000000.250000"
    rejected = call(ap1, f"/v1/instructions/{instruction_id}/rejections", {"reason": "the new rate is off-market"})
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["status"] == "rejected" and _queue(ap1) == []
    assert rejected.json()["rejection_reason"] == "the new rate is off-market"
    late = call(ap1, f"/v1/instructions/{instruction_id}/approvals")
    assert late.status_code == 409


def test_a_signature_held_back_tells_the_members_approvers_only(world: World) -> None:
    hub = hub_of(world)
    hub.bus = EventBus()
    initiator, ap1 = world.user("a", Role.APPROVER, "initiator"), world.user("a", Role.APPROVER, "ap1")
    b = world.user("b", Role.TRADER, "bt")
    over_limit_policy(world, *policy_admins(world))
    trade, _ = agreed_trade(world, initiator, b)
    with (
        world.client.websocket_connect("/v1/stream", headers=ap1.headers) as ws_a,
        world.client.websocket_connect("/v1/stream", headers=b.headers) as ws_b,
    ):
        assert ws_a.receive_json()["type"] == "subscribed" and ws_b.receive_json()["type"] == "subscribed"
        held = call(initiator, f"/v1/trades/{trade['id']}/sign")
        assert held.status_code == 409 and held.json()["type"].endswith("/approval-required")
        event = ws_a.receive_json()
        assert event["type"] == "approval.requested" and event["data"]["rule"] == "large"
        assert event["data"]["trade_id"] == trade["id"] and event["data"]["side"] == "seller"
        assert call(ap1, f"/v1/trades/{trade['id']}/approvals").status_code == 201
        assert ws_a.receive_json()["type"] == "trade.approved"
        assert call(ap1, f"/v1/trades/{trade['id']}/rejections", {"reason": "second thoughts"}).status_code == 201
        # B's first message is the rejection: it learnt nothing of A's request or A's approvals
        assert ws_b.receive_json()["type"] == "trade.rejected"


def test_a_signature_read_before_a_rejection_is_not_stored_after_it(world: World) -> None:
    """The race on a database without a global write lock (PostgreSQL): a signing request read the trade as pending,
    an approver's rejection commits, then the signing request writes. The signature's conditional update finds the
    trade cancelled and stores nothing; the trade stays cancelled (the relayer never sees both signatures)."""
    from gateway.signing.service import _store
    from gateway.trading.exceptions import InvalidState
    from gateway.trading.models import Trade

    a, ap1 = world.user("a", Role.APPROVER, "signer"), world.user("a", Role.APPROVER, "ap1")
    b = world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    with world.ctx.sessions() as before:
        seen = before.get(Trade, uuid.UUID(trade["id"]))
        assert seen is not None and seen.status == "pending_signatures"
        before.expunge(seen)  # as the signing request holds it: read, not yet written
    assert call(ap1, f"/v1/trades/{trade['id']}/rejections", {"reason": "not today"}).status_code == 201
    with world.ctx.sessions() as late:
        stale = late.merge(seen, load=False)
        with pytest.raises(InvalidState):
            _store(late, stale, "seller", "0x" + "11" * 65, actor="test", how="custodial")
        late.rollback()
    detail = b.get(f"/v1/trades/{trade['id']}").json()
    assert detail["status"] == "cancelled" and not detail["seller"]["signed"]
