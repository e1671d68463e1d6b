"""Trading and its controls without a chain: RFQ visibility and acceptance produce EIP-712 terms; the policy
engine blocks or waits for approvers (never the initiator); rules change only by a second approver; custodial
signing needs KYC and a fresh step-up; a self-held wallet's signature must be its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from sqlalchemy import select, update

from contracts import eip712
from gateway.custody.models import Consent
from gateway.db.models import AuditEntry, AuthSession, Organization, Role, Wallet, WalletKind
from tests.gateway.conftest import Member, World
from tests.gateway.market import (
    BOND,
    CASH,
    ENGINE,
    approve_member,
    call,
    custodial_wallet,
    list_instrument,
    market_world,
)


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def rfq_body(wallet_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "seller_wallet_id": wallet_id,
        "cash_token": CASH,
        "collateral_token": BOND,
        "purchase_price": "1000000.25",
        "collateral_amount": "1050000",
        "tenor_seconds": 7 * 86_400,
    }
    body.update(overrides)
    return body


def agreed_trade(world: World, a: Member, b: Member, *, pp: str = "1000000.25") -> tuple[dict[str, Any], Any]:
    wa, wb = custodial_wallet(a), custodial_wallet(b)
    approve_member(world, "a")
    approve_member(world, "b")
    rfq = call(a, "/v1/rfqs", rfq_body(wa["id"], purchase_price=pp))
    assert rfq.status_code == 201, rfq.text
    quote = call(
        b, f"/v1/rfqs/{rfq.json()['id']}/quotes", {"buyer_wallet_id": wb["id"], "rate": "-0.005", "haircut_bps": 200}
    )
    assert quote.status_code == 201, quote.text
    trade = call(a, f"/v1/rfqs/{rfq.json()['id']}/accept", {"quote_id": quote.json()["id"]})
    assert trade.status_code == 201, trade.text
    return trade.json(), rfq.json()


def test_rfq_accept_fixes_eip712_terms_with_exact_amounts(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, rfq = agreed_trade(world, a, b)
    assert trade["purchase_price"] == "1000000.250000" and trade["rate_fraction"] == "-0.005"
    terms = {k: (int(v) if not v.startswith("0x") else v) for k, v in trade["terms"].items()}
    assert terms["purchasePrice"] == 1_000_000_250_000 and terms["rate"] == -5 * 10**15
    assert terms["maturity"] - terms["startTime"] == 7 * 86_400
    digest = eip712.digest("RepoTerms", terms, chain_id=31337, engine=ENGINE)
    assert trade["digest"] == "0x" + digest.hex()
    doc = a.get(f"/v1/trades/{trade['id']}/typed-data").json()
    assert (
        doc["typed_data"]["domain"]["verifyingContract"] == to_checksum_address(ENGINE)
        and doc["digest"] == trade["digest"]
    )
    assert a.get(f"/v1/rfqs/{rfq['id']}").json()["status"] == "accepted"


def test_money_with_more_decimals_than_the_token_is_refused(world: World) -> None:
    a = world.user("a", Role.TRADER, "at")
    wa = custodial_wallet(a)
    response = call(a, "/v1/rfqs", rfq_body(wa["id"], purchase_price="1.0000001"))
    assert response.status_code == 400 and "6 decimal places" in response.json()["detail"]


def test_lenders_not_asked_do_not_see_the_rfq_and_see_only_their_own_quotes(world: World) -> None:
    world.org("c", name="Fund C")
    a, b, c = (world.user(k, Role.TRADER, f"{k}t") for k in "abc")
    wa, wb, wc = custodial_wallet(a), custodial_wallet(b), custodial_wallet(c)
    only_b = call(a, "/v1/rfqs", rfq_body(wa["id"], lenders=[str(world.orgs["b"])])).json()
    assert c.get(f"/v1/rfqs/{only_b['id']}").status_code == 404
    assert (
        call(
            c, f"/v1/rfqs/{only_b['id']}/quotes", {"buyer_wallet_id": wc["id"], "rate": "0.03", "haircut_bps": 100}
        ).status_code
        == 404
    )
    everyone = call(a, "/v1/rfqs", rfq_body(wa["id"])).json()
    for member, wallet, rate in ((b, wb, "0.031"), (c, wc, "0.029")):
        assert (
            call(
                member,
                f"/v1/rfqs/{everyone['id']}/quotes",
                {"buyer_wallet_id": wallet["id"], "rate": rate, "haircut_bps": 100},
            ).status_code
            == 201
        )
    assert [q["rate_fraction"] for q in b.get(f"/v1/rfqs/{everyone['id']}").json()["quotes"]] == ["0.031"]
    assert len(a.get(f"/v1/rfqs/{everyone['id']}").json()["quotes"]) == 2
    winner = next(q for q in a.get(f"/v1/rfqs/{everyone['id']}").json()["quotes"] if q["rate_fraction"] == "0.029")
    assert call(a, f"/v1/rfqs/{everyone['id']}/accept", {"quote_id": winner["id"]}).status_code == 201
    statuses = sorted(q["status"] for q in a.get(f"/v1/rfqs/{everyone['id']}").json()["quotes"])
    assert statuses == ["accepted", "expired"]


def test_rfq_pages_with_a_cursor(world: World) -> None:
    a = world.user("a", Role.TRADER, "at")
    wa = custodial_wallet(a)
    ids = [call(a, "/v1/rfqs", rfq_body(wa["id"])).json()["id"] for _ in range(5)]
    first = a.get("/v1/rfqs?limit=2").json()
    second = a.get(f"/v1/rfqs?limit=2&cursor={first['next_cursor']}").json()
    third = a.get(f"/v1/rfqs?limit=2&cursor={second['next_cursor']}").json()
    seen = [r["id"] for page in (first, second, third) for r in page["data"]]
    assert seen == list(reversed(ids)) and third["next_cursor"] is None


def policy_admins(world: World) -> tuple[Member, Member]:
    """Two administrators of A: a member's policy is its administrators' to change, four eyes each time."""
    return world.user("a", Role.MEMBER_ADMIN, "adm1"), world.user("a", Role.MEMBER_ADMIN, "adm2")


def over_limit_policy(world: World, proposer: Member, second: Member) -> None:
    draft = call(
        proposer,
        "/v1/policy/drafts",
        {
            "rules": [
                {"name": "blocked collateral", "when": {"collateral_in": ["0x" + "66" * 20]}, "action": "block"},
                {"name": "large", "when": {"notional_over": "500000"}, "action": "require_approvals", "approvals": 2},
            ]
        },
    )
    assert draft.status_code == 201, draft.text
    own = call(proposer, f"/v1/policy/drafts/{draft.json()['id']}/decision", {"approve": True})
    assert own.status_code == 409 and own.json()["type"].endswith("/four-eyes")
    assert proposer.get("/v1/policy").json() is None  # a draft changes nothing
    ok = call(second, f"/v1/policy/drafts/{draft.json()['id']}/decision", {"approve": True})
    assert ok.status_code == 200 and ok.json()["is_active"]


def test_over_the_limit_waits_for_two_approvers_and_the_initiator_cannot_approve(world: World) -> None:
    a_trader = world.user("a", Role.APPROVER, "initiator")  # an approver who also trades
    ap1, ap2 = world.user("a", Role.APPROVER, "ap1"), world.user("a", Role.APPROVER, "ap2")
    b = world.user("b", Role.TRADER, "bt")
    over_limit_policy(world, *policy_admins(world))
    trade, _ = agreed_trade(world, a_trader, b)
    waiting = call(a_trader, f"/v1/trades/{trade['id']}/sign")
    assert waiting.status_code == 409 and waiting.json()["type"].endswith("/approval-required")
    assert waiting.json()["policy"]["rule"] == "large"
    self_approval = call(a_trader, f"/v1/trades/{trade['id']}/approvals")
    assert self_approval.status_code == 409 and self_approval.json()["type"].endswith("/four-eyes")
    assert call(ap1, f"/v1/trades/{trade['id']}/approvals").json()["seller"]["approvals"] == 1
    assert call(ap1, f"/v1/trades/{trade['id']}/approvals").json()["seller"]["approvals"] == 1  # once per person
    still = call(a_trader, f"/v1/trades/{trade['id']}/sign")
    assert still.status_code == 409
    assert call(ap2, f"/v1/trades/{trade['id']}/approvals").json()["seller"]["approvals"] == 2
    signed = call(a_trader, f"/v1/trades/{trade['id']}/sign")
    assert signed.status_code == 200, signed.text
    assert signed.json()["trade"]["seller"]["signed"] and signed.json()["policy"]["rule"] == "large"
    # The detail view (one query) and the list view (the ORM objects) say the same, approvals included.
    detail = b.get(f"/v1/trades/{trade['id']}").json()
    assert [t for t in b.get("/v1/trades").json()["data"] if t["id"] == trade["id"]] == [detail]
    assert detail["seller"]["approvals"] == 2 and detail["buyer"]["approvals"] == 0
    assert detail["seller"]["signed"] and not detail["buyer"]["signed"]
    assert detail["purchase_price"] == "1000000.250000" and detail["seller"]["wallet_kind"] == "custodial"


def test_under_the_limit_is_allowed_and_a_block_rule_blocks(world: World) -> None:
    ap1, ap2 = policy_admins(world)
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    over_limit_policy(world, ap1, ap2)
    small, _ = agreed_trade(world, a, b, pp="1000")
    assert call(a, f"/v1/trades/{small['id']}/sign").status_code == 200
    draft = call(
        ap1,
        "/v1/policy/drafts",
        {
            "rules": [
                {"name": "no trading with B", "when": {"counterparty_in": [str(world.orgs["b"])]}, "action": "block"}
            ]
        },
    )
    call(ap2, f"/v1/policy/drafts/{draft.json()['id']}/decision", {"approve": True})
    blocked, _ = agreed_trade(world, a, b, pp="1000")
    response = call(a, f"/v1/trades/{blocked['id']}/sign")
    assert response.status_code == 403 and response.json()["type"].endswith("/policy-blocked")
    # the refusal is on the audit chain (surveillance's repeated-failures rule), on the wallet, by the person;
    # the request's own changes are not (no consent recorded for the refused signature)
    with world.ctx.sessions() as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "custody.refused")).all()
        assert [(e.actor, e.object_type) for e in refused] == [(f"user:{a.user.id}", "wallet")]
        wallet = session.get(Wallet, uuid.UUID(refused[0].object_id))
        assert wallet is not None and wallet.organization_id == world.orgs["a"]
        consents = session.scalars(select(Consent).where(Consent.subject == f"trade/{blocked['id']}")).all()
        assert consents == []


def test_a_signature_refused_for_lapsed_kyc_before_the_write_is_audited(world: World) -> None:
    """The registry check a route makes in its read session (before the door) refuses as the door would, and the
    refusal goes on the audit chain too: a member whose KYC lapsed signing again and again is seen."""
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    with world.ctx.sessions.begin() as session:
        session.execute(update(Organization).where(Organization.id == world.orgs["a"]).values(kyc_status="expired"))
    response = call(a, f"/v1/trades/{trade['id']}/sign")
    assert response.status_code == 403 and response.json()["type"].endswith("/wallet-not-verified"), response.text
    with world.ctx.sessions() as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "custody.refused")).all()
        assert [(e.actor, e.object_type) for e in refused] == [(f"user:{a.user.id}", "wallet")]
        wallet = session.get(Wallet, uuid.UUID(refused[0].object_id))
        assert wallet is not None and wallet.organization_id == world.orgs["a"]


def test_custodial_signing_needs_a_fresh_step_up(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    with world.ctx.sessions.begin() as session:
        session.execute(update(AuthSession).values(mfa_at=datetime.now(UTC) - timedelta(hours=1)))
    stale = call(a, f"/v1/trades/{trade['id']}/sign")
    assert stale.status_code == 403 and stale.json()["type"].endswith("/step-up-required")
    with world.ctx.sessions() as session:  # the ordinary way to a signature, not a refusal
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "custody.refused")).all() == []
    assert call(a, "/v1/auth/step-up", {"totp_code": a.totp_now()}).status_code == 200
    assert call(a, f"/v1/trades/{trade['id']}/sign").status_code == 200


def test_custodial_signing_refuses_a_member_whose_kyc_is_not_approved(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    with world.ctx.sessions.begin() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None
        org.kyc_status = "frozen"
    refused = call(a, f"/v1/trades/{trade['id']}/sign")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/wallet-not-verified")


def test_a_viewer_cannot_sign_or_quote(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    viewer = world.user("a", Role.VIEWER, "av")
    trade, _ = agreed_trade(world, a, b)
    assert call(viewer, f"/v1/trades/{trade['id']}/sign").status_code == 403
    assert viewer.get(f"/v1/trades/{trade['id']}").status_code == 200


def test_outsiders_do_not_see_a_trade(world: World) -> None:
    world.org("c", name="Fund C")
    a, b, c = (world.user(k, Role.TRADER, f"{k}t") for k in "abc")
    trade, _ = agreed_trade(world, a, b)
    assert c.get(f"/v1/trades/{trade['id']}").status_code == 404
    assert c.get("/v1/trades").json()["data"] == []


def test_self_held_signature_must_recover_to_the_registered_wallet(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    key = Account.create()
    with world.ctx.sessions.begin() as session:  # make B's side a self-held wallet registered for key
        wallet = session.query(Wallet).filter(Wallet.address == trade["buyer"]["wallet"]).one()
        wallet.kind, wallet.address = WalletKind.SELF_HELD.value, key.address
        wallet.onchain_whitelisted = False
    approve_member(world, "b")
    doc = b.get(f"/v1/trades/{trade['id']}/typed-data").json()["typed_data"]
    other = Account.create().sign_typed_data(full_message=doc)
    bad = call(b, f"/v1/trades/{trade['id']}/signature", {"signature": "0x" + bytes(other.signature).hex()})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-signature")
    good = key.sign_typed_data(full_message=doc)
    ok = call(b, f"/v1/trades/{trade['id']}/signature", {"signature": "0x" + bytes(good.signature).hex()})
    assert ok.status_code == 200, ok.text
    assert ok.json()["trade"]["buyer"]["signed"]


def test_custodial_signing_refuses_a_wallet_the_registry_does_not_verify(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    with world.ctx.read_sessions() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None and org.onchain_identity_id is not None
    world.ctx.chain.revoke_identity(identity_id=org.onchain_identity_id)
    refused = call(a, f"/v1/trades/{trade['id']}/sign")
    assert refused.status_code == 403 and "identity registry" in refused.json()["detail"]
