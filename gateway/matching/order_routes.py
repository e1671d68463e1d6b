"""/v1/gc writes: the operator lists baskets; a member enters and cancels orders and sets its credit limits."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from gateway.api.deps import ContextDep, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketOperateStepUp, PolicyManage
from gateway.custody import door
from gateway.custody.kyc import verified_before_writing
from gateway.db.models import Organization
from gateway.exceptions import InvalidRequest, NotFound
from gateway.matching import baskets, entry, instructions
from gateway.matching.schemas import (
    GcBasketCreate,
    GcBasketPublic,
    GcCreditLimitPublic,
    GcCreditLimitSet,
    GcOrderCreate,
    GcOrderPublic,
)
from gateway.settlement.hub import HubDep
from gateway.trading.deps import Trader, TraderStepUp

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
    fresh step-up) and every fill within it opens a repo at once, with an anonymous counterparty."""
    market = hub.require_market()
    wallet = entry.member_wallet(read, body.wallet_id, principal.organization_id)
    person = door.Person.of(principal)
    try:
        checked = verified_before_writing(ctx, read, wallet)
    except door.REFUSALS as exc:
        read.rollback()
        door.refused(session, person=person, wallet_id=wallet.id, subject="gc-order/new", refusal=exc)
        raise
    venue = entry.Venue(
        chain_id=market.chain_id, engine=market.engine_address, matcher=market.relayer.address, now=hub.now()
    )
    read.rollback()
    row = entry.enter_order(ctx, session, person=person, body=body, venue=venue, chain_checked=checked)
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
    room in both members' limits toward each other."""
    counterparty_id = body.counterparty_id
    counterparty = session.get(Organization, counterparty_id)
    if counterparty is None or counterparty.is_operator:
        raise NotFound(f"no member {counterparty_id}")
    if counterparty_id == principal.organization_id:
        raise InvalidRequest("a member has no credit limit toward itself")
    row = instructions.set_credit_limit(
        session,
        organization_id=principal.organization_id,
        counterparty_id=counterparty_id,
        limit_units=int(body.limit_units),
    )
    session.flush()
    public = GcCreditLimitPublic(
        organization_id=row.organization_id,
        counterparty_id=row.counterparty_id,
        limit_units=row.limit_units,
        updated_at=row.updated_at,
    )
    session.commit()
    return public
