"""Requests for quote: a seller asks named members (or all) for rate and haircut; quotes; acceptance agrees a trade."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.db.models import Wallet
from gateway.exceptions import InvalidRequest, NotFound, PermissionDenied
from gateway.trading import maturity as repo_maturity
from gateway.trading import money
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import InstrumentKind, Quote, QuoteStatus, Rfq, RfqStatus, Trade
from gateway.trading.nonces import next_terms_nonce
from gateway.trading.records import decode_cursor, encode_cursor, instrument, own_wallet, ts, utc_now
from gateway.trading.schemas import QuoteCreate, QuotePublic, RfqCreate, RfqPublic
from gateway.trading.terms import TermsChain, build_terms, new_trade, requested_maturity


def create_rfq(
    session: Session,
    hub: TermsChain,
    *,
    actor: str,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    body: RfqCreate,
    now: int,
) -> Rfq:
    """``now``: the chain's clock, read by the caller before its write transaction opened (gateway.chain.guard)."""
    wallet = own_wallet(session, wallet_id=body.seller_wallet_id, organization_id=organization_id)
    cash = instrument(session, body.cash_token, InstrumentKind.CASH)
    bond = instrument(session, body.collateral_token, InstrumentKind.BOND)
    pp = money.to_units(body.purchase_price, cash.decimals, field="purchase_price")
    amount = money.to_units(body.collateral_amount, bond.decimals, field="collateral_amount")
    if pp == 0 or amount == 0:
        raise InvalidRequest("purchase_price and collateral_amount must be positive")
    if body.lenders is not None and organization_id in body.lenders:
        raise InvalidRequest("an organization cannot lend to itself")
    requested = requested_maturity(body, now)
    repo_maturity.require_outlives(
        session, hub, collateral_token=bond.address, repo_maturity=now - requested if requested < 0 else requested
    )
    rfq = Rfq(
        id=uuid.uuid4(),
        organization_id=organization_id,
        created_by=user_id,
        seller_wallet_id=wallet.id,
        cash_token=cash.address,
        collateral_token=bond.address,
        purchase_price=str(pp),
        collateral_amount=str(amount),
        start_time=now,
        maturity=requested,
        notice_period=body.notice_period_seconds,
        day_count_basis=body.day_count_basis,
        min_transfer_amount=str(money.min_transfer_units(body.min_transfer_amount, cash.decimals)),
        margin_cure_period=body.margin_cure_period_seconds,
        grace_period=body.grace_period_seconds,
        quote_deadline=utc_now() + timedelta(seconds=body.quote_seconds),
        lenders=None if body.lenders is None else [str(x) for x in body.lenders],
    )
    session.add(rfq)
    audit_log.append(
        session,
        actor=actor,
        action="rfq.created",
        object_type="rfq",
        object_id=str(rfq.id),
        change={"purchase_price": rfq.purchase_price, "lenders": rfq.lenders},
    )
    session.commit()
    return rfq


def _addressed_to(rfq: Rfq, organization_id: uuid.UUID) -> bool:
    return rfq.lenders is None or str(organization_id) in rfq.lenders


def expire_if_due(session: Session, rfq: Rfq) -> None:
    if rfq.status == RfqStatus.OPEN.value and rfq.quote_deadline <= utc_now():
        rfq.status = RfqStatus.EXPIRED.value
        for quote in session.scalars(select(Quote).where(Quote.rfq_id == rfq.id)):
            if quote.status == QuoteStatus.ACTIVE.value:
                quote.status = QuoteStatus.EXPIRED.value
        session.commit()


def load_rfq(session: Session, *, rfq_id: uuid.UUID, organization_id: uuid.UUID, is_operator: bool) -> Rfq:
    """The RFQ, if the caller's organization asked it or was asked; else 404."""
    rfq = session.get(Rfq, rfq_id)
    if rfq is None or not (
        is_operator or rfq.organization_id == organization_id or _addressed_to(rfq, organization_id)
    ):
        raise NotFound("rfq not found")
    expire_if_due(session, rfq)
    return rfq


def rfq_public(session: Session, rfq: Rfq, viewer_org: uuid.UUID, is_operator: bool) -> RfqPublic:
    cash = instrument(session, rfq.cash_token, InstrumentKind.CASH)
    bond = instrument(session, rfq.collateral_token, InstrumentKind.BOND)
    quotes = session.scalars(select(Quote).where(Quote.rfq_id == rfq.id).order_by(Quote.created_at)).all()
    if not (is_operator or rfq.organization_id == viewer_org):
        quotes = [q for q in quotes if q.organization_id == viewer_org]  # lenders never see each other's quotes
    return RfqPublic(
        id=rfq.id,
        organization_id=rfq.organization_id,
        seller_wallet_id=rfq.seller_wallet_id,
        cash_token=rfq.cash_token,
        collateral_token=rfq.collateral_token,
        purchase_price=money.from_units(int(rfq.purchase_price), cash.decimals),
        collateral_amount=money.from_units(int(rfq.collateral_amount), bond.decimals),
        maturity=ts(rfq.maturity) if rfq.maturity > 0 else None,
        tenor_seconds=-rfq.maturity if rfq.maturity < 0 else None,
        status=rfq.status,
        quote_deadline=rfq.quote_deadline,
        lenders=None if rfq.lenders is None else [uuid.UUID(x) for x in rfq.lenders],
        quotes=[quote_public(q) for q in quotes],
        trade_id=rfq.trade_id,
        created_at=rfq.created_at,
    )


def quote_public(q: Quote) -> QuotePublic:
    return QuotePublic(
        id=q.id,
        rfq_id=q.rfq_id,
        organization_id=q.organization_id,
        buyer_wallet_id=q.buyer_wallet_id,
        rate=money.wad_to_rate(int(q.rate)),
        haircut_bps=q.haircut_bps,
        status=q.status,
        created_at=q.created_at,
    )


def list_rfqs(
    session: Session, *, organization_id: uuid.UUID, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Rfq], str | None]:
    query = select(Rfq).order_by(Rfq.created_at.desc(), Rfq.id.desc())
    if status is not None:
        query = query.where(Rfq.status == status)
    if cursor is not None:
        at, last = decode_cursor(cursor)
        query = query.where(or_(Rfq.created_at < at, and_(Rfq.created_at == at, Rfq.id < uuid.UUID(last))))
    rows: list[Rfq] = []
    for rfq in session.scalars(query):
        if rfq.organization_id == organization_id or _addressed_to(rfq, organization_id):
            rows.append(rfq)
            if len(rows) > limit:
                break
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


def submit_quote(
    session: Session, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, rfq: Rfq, body: QuoteCreate
) -> Quote:
    if rfq.organization_id == organization_id:
        raise InvalidRequest("the borrower cannot quote its own request")
    if not _addressed_to(rfq, organization_id):
        raise NotFound("rfq not found")
    if rfq.status != RfqStatus.OPEN.value:
        raise InvalidState(f"the request is {rfq.status}")
    wallet = own_wallet(session, wallet_id=body.buyer_wallet_id, organization_id=organization_id)
    rate = money.rate_to_wad(body.rate)
    existing = session.execute(
        select(Quote).where(Quote.rfq_id == rfq.id, Quote.organization_id == organization_id)
    ).scalar_one_or_none()
    if existing is not None:  # a new quote replaces the organization's previous one
        existing.rate, existing.haircut_bps, existing.buyer_wallet_id = str(rate), body.haircut_bps, wallet.id
        existing.status, existing.created_by = QuoteStatus.ACTIVE.value, user_id
        quote = existing
    else:
        quote = Quote(
            id=uuid.uuid4(),
            rfq_id=rfq.id,
            organization_id=organization_id,
            created_by=user_id,
            buyer_wallet_id=wallet.id,
            rate=str(rate),
            haircut_bps=body.haircut_bps,
        )
        session.add(quote)
    audit_log.append(
        session,
        actor=actor,
        action="quote.submitted",
        object_type="quote",
        object_id=str(quote.id),
        change={"rfq": str(rfq.id), "rate": body.rate, "haircut_bps": body.haircut_bps},
    )
    session.commit()
    return quote


def accept_quote(
    session: Session,
    hub: TermsChain,
    *,
    actor: str,
    organization_id: uuid.UUID,
    rfq: Rfq,
    quote_id: uuid.UUID,
    now: int,
) -> Trade:
    """``now``: the chain's clock, read by the caller before its write transaction opened (gateway.chain.guard)."""
    if rfq.organization_id != organization_id:
        raise PermissionDenied("only the requesting organization accepts quotes")
    if rfq.status != RfqStatus.OPEN.value:
        raise InvalidState(f"the request is {rfq.status}")
    quote = session.get(Quote, quote_id)
    if quote is None or quote.rfq_id != rfq.id or quote.status != QuoteStatus.ACTIVE.value:
        raise NotFound("quote not found or no longer active")
    seller = session.get(Wallet, rfq.seller_wallet_id)
    buyer = session.get(Wallet, quote.buyer_wallet_id)
    assert seller is not None and buyer is not None
    maturity = now - rfq.maturity if rfq.maturity < 0 else rfq.maturity
    repo_maturity.require_outlives(session, hub, collateral_token=rfq.collateral_token, repo_maturity=maturity)
    terms = build_terms(
        hub,
        seller=seller.address,
        buyer=buyer.address,
        cash_token=rfq.cash_token,
        purchase_price=int(rfq.purchase_price),
        rate=int(quote.rate),
        day_count_basis=rfq.day_count_basis,
        start=now,
        maturity=maturity,
        notice=rfq.notice_period,
        collateral_token=rfq.collateral_token,
        collateral_amount=int(rfq.collateral_amount),
        haircut_bps=quote.haircut_bps,
        min_transfer=int(rfq.min_transfer_amount),
        cure=rfq.margin_cure_period,
        grace=rfq.grace_period,
        nonce=next_terms_nonce(session, seller=seller.address, buyer=buyer.address),
    )
    trade = new_trade(
        session,
        hub,
        terms=terms,
        source="rfq",
        rfq_id=rfq.id,
        seller_wallet=seller,
        buyer_wallet=buyer,
        seller_initiator=rfq.created_by,
        buyer_initiator=quote.created_by,
    )
    rfq.status, rfq.accepted_quote_id, rfq.trade_id = RfqStatus.ACCEPTED.value, quote.id, trade.id
    for other in session.scalars(select(Quote).where(Quote.rfq_id == rfq.id)):
        other.status = QuoteStatus.ACCEPTED.value if other.id == quote.id else QuoteStatus.EXPIRED.value
    audit_log.append(
        session,
        actor=actor,
        action="rfq.accepted",
        object_type="rfq",
        object_id=str(rfq.id),
        change={"quote": str(quote.id), "trade": str(trade.id), "digest": trade.terms_digest},
    )
    session.commit()
    return trade
