"""/v1/gc writes: the operator lists baskets; a member enters and cancels orders and sets its credit limits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter
from sqlalchemy.orm import Session

from contracts import eip712
from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketOperateStepUp, PolicyManage, TradesRead
from gateway.context import GatewayContext
from gateway.custody import door
from gateway.custody.kyc import verified_before_writing
from gateway.db.models import Organization, WalletKind
from gateway.exceptions import InvalidRequest, NotFound
from gateway.matching import baskets, credit_caps, entry, instructions, replace, self_held
from gateway.matching.schemas import (
    GcBasketCreate,
    GcBasketPublic,
    GcCreditLimitPublic,
    GcCreditLimitSet,
    GcOrderAmend,
    GcOrderCreate,
    GcOrderPublic,
    GcOrderReplace,
)
from gateway.settlement.hub import Hub, HubDep
from gateway.trading.deps import Trader, TraderStepUp
from gateway.trading.schemas import SignatureSubmit, TypedDataDocument, TypedDataPublic

router = APIRouter(prefix="/gc", tags=["gc"], responses=problem_responses(401, 403, 404, 409, 422, 429))


@router.post("/baskets", response_model=GcBasketPublic, status_code=201)
def list_basket(body: GcBasketCreate, principal: MarketOperateStepUp, session: SessionDep) -> GcBasketPublic:
    """List a GC basket (operator, fresh step-up). Fixed once listed: orders sign its hash."""
    row = baskets.create_basket(session, actor=principal.actor, body=body)
    session.commit()
    return GcBasketPublic.model_validate(row)


@router.post("/orders", response_model=GcOrderPublic, status_code=201)
def enter_order(
    body: GcOrderCreate,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> GcOrderPublic:
    """Lend or borrow cash in a basket for a tenor: the member's custodial wallet signs the order once (KYC, policy,
    fresh step-up) and every fill within it opens a repo at once, with an anonymous counterparty. A self-held
    wallet's order is prepared (``unsigned``): its key signs ``…/typed-data`` and posts ``…/signature``."""
    signing = _signing(ctx, read, session, hub, principal, wallet_id=body.wallet_id, subject="gc-order/new")
    row = entry.enter_order(
        ctx, session, person=signing.person, body=body, venue=signing.venue, chain_checked=signing.checked
    )
    session.commit()
    return GcOrderPublic.model_validate(row)


@dataclass(frozen=True)
class _Signing:
    person: door.Person
    venue: entry.Venue
    checked: str  # the wallet's address as the registry verified it (``chain_checked``)


def _signing(
    ctx: GatewayContext,
    read: Session,
    session: Session,
    hub: Hub,
    principal: Principal,
    *,
    wallet_id: uuid.UUID,
    subject: str,
) -> _Signing:
    """Who signs an order and against what, read before the write transaction: the wallet's KYC on chain (a
    refusal audited under ``subject``) and the venue (chain, engine, matcher, the chain's clock)."""
    market = hub.require_market()
    wallet = entry.member_wallet(read, wallet_id, principal.organization_id)
    person = door.Person.of(principal)
    try:
        checked = verified_before_writing(ctx, read, wallet)
    except door.REFUSALS as exc:
        read.rollback()
        door.refused(session, person=person, wallet_id=wallet.id, subject=subject, refusal=exc)
        raise
    venue = entry.Venue(
        chain_id=market.chain_id, engine=market.engine_address, matcher=market.relayer.address, now=hub.now()
    )
    read.rollback()
    return _Signing(person=person, venue=venue, checked=checked)


@router.get("/orders/{order_id}/typed-data", response_model=TypedDataPublic, status_code=200)
def order_typed_data(order_id: uuid.UUID, principal: TradesRead, read: ReadSessionDep, hub: HubDep) -> TypedDataPublic:
    """The EIP-712 ``GcOrder`` a self-held wallet signs (eth_signTypedData_v4), as the gateway prepared it."""
    row = entry.own_order(read, order_id, principal.organization_id)
    market = hub.require_market()
    doc = self_held.document(row, chain_id=market.chain_id, engine=market.engine_address)
    return TypedDataPublic(
        primary_type="GcOrder",
        typed_data=TypedDataDocument.model_validate(eip712.for_wallets(doc.typed_data)),
        digest="0x" + doc.digest.hex(),
    )


@router.post("/orders/{order_id}/signature", response_model=GcOrderPublic, status_code=200)
def submit_order_signature(
    order_id: uuid.UUID,
    body: SignatureSubmit,
    principal: Trader,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> GcOrderPublic:
    """A self-held wallet's signature of its prepared order (EOA, or an ERC-1271 wallet's), before the end of the
    trading day: checked against the chain in the read session, then the order goes to the book."""
    seen = entry.own_order(read, order_id, principal.organization_id)
    market = hub.require_market()
    now = hub.now()
    self_held.require_unsigned(seen, now)
    wallet = entry.member_wallet(read, seen.wallet_id, principal.organization_id) if seen.wallet_id else None
    if wallet is None or wallet.kind != WalletKind.SELF_HELD.value:
        raise InvalidRequest("a custodial wallet's order is signed by the gateway when it is entered")
    verified_before_writing(ctx, read, wallet)
    how = self_held.check_signature(market, seen, body.signature)
    read.rollback()
    row = entry.own_order(session, order_id, principal.organization_id)
    basket_row = baskets.load_basket(session, row.basket_id)
    maturity = int((row.signed or {}).get("maturity", now))
    facts = entry.policy_facts(session, basket_row, size=int(row.size_units), maturity=maturity, now=now)
    self_held.accept_signature(
        session, actor=principal.actor, row=row, signature=body.signature, how=how, now=now, facts=facts
    )
    session.commit()
    return GcOrderPublic.model_validate(row)


@router.patch("/orders/{order_id}", response_model=GcOrderPublic, status_code=202)
def amend_order(order_id: uuid.UUID, body: GcOrderAmend, principal: Trader, session: SessionDep) -> GcOrderPublic:
    """Lower a live order's total size, keeping its time priority (its ``size_units`` follows once the book has
    taken it). A higher size or another rate is a new order: ``…/replace``."""
    row = entry.amend_order(
        session,
        actor=principal.actor,
        organization_id=principal.organization_id,
        order_id=order_id,
        size_units=int(body.size_units),
    )
    session.commit()
    return GcOrderPublic.model_validate(row)


@router.post("/orders/{order_id}/replace", response_model=GcOrderPublic, status_code=201)
def replace_order(
    order_id: uuid.UUID,
    body: GcOrderReplace,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> GcOrderPublic:
    """Cancel/replace at another rate: the replacement (signed like a new order, new time priority) for the live
    order's unfilled rest, and the old order cancelled, in one step; a refused replacement changes nothing."""
    old = entry.own_order(read, order_id, principal.organization_id)
    if old.wallet_id is None:
        raise InvalidRequest(f"order {order_id} has no wallet to sign a replacement")
    signing = _signing(ctx, read, session, hub, principal, wallet_id=old.wallet_id, subject=f"gc-order/{order_id}")
    row = replace.replace_order(
        ctx, session, person=signing.person, order_id=order_id, body=body, venue=signing.venue,
        chain_checked=signing.checked, market=hub.require_market,
    )  # fmt: skip
    hub.notify()
    session.commit()
    return GcOrderPublic.model_validate(row)


@router.delete("/orders/{order_id}", response_model=GcOrderPublic, status_code=202)
def cancel_order(order_id: uuid.UUID, principal: Trader, session: SessionDep, hub: HubDep) -> GcOrderPublic:
    """Ask the book to cancel the order's unfilled rest (its status follows once the matching service answers) and
    void the order's signature on chain (its wallet cancels the order's nonce)."""
    row = entry.cancel_order(
        session,
        actor=principal.actor,
        organization_id=principal.organization_id,
        order_id=order_id,
        market=hub.require_market,
    )
    hub.notify()
    session.commit()
    return GcOrderPublic.model_validate(row)


@router.put("/credit-limits", response_model=GcCreditLimitPublic, status_code=200)
def set_credit_limit(body: GcCreditLimitSet, principal: PolicyManage, session: SessionDep) -> GcCreditLimitPublic:
    """The member's limit toward another member on the GC book (member admin): a match between two members needs
    room in both members' limits toward each other. The book counts at most the pair's agreed cap (their effective
    margin agreement's ``gc_credit_cap_units``): ``book_units``."""
    counterparty_id = body.counterparty_id
    counterparty = session.get(Organization, counterparty_id)
    if counterparty is None or counterparty.is_operator:
        raise NotFound(f"no member {counterparty_id}")
    if counterparty_id == principal.organization_id:
        raise InvalidRequest("a member has no credit limit toward itself")
    own = int(body.limit_units)
    instructions.lock(session)  # before reading the cap: an agreement taking effect at once waits, or is seen
    cap = credit_caps.cap(session, principal.organization_id, counterparty_id)
    book = credit_caps.bounded(own, cap)
    row = instructions.set_credit_limit(
        session,
        organization_id=principal.organization_id,
        counterparty_id=counterparty_id,
        limit_units=own,
        book_units=book,
    )
    session.flush()
    public = GcCreditLimitPublic(
        organization_id=row.organization_id,
        counterparty_id=row.counterparty_id,
        limit_units=row.limit_units,
        agreed_cap_units=str(cap) if cap is not None else None,
        book_units=str(book),
        updated_at=row.updated_at,
    )
    session.commit()
    return public
