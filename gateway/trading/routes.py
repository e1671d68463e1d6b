"""/v1/rfqs, /v1/trades: requests for quote, quotes, direct terms, the trades and their retry (the signing steps —
signatures and approvals — are ``gateway.signing.routes``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from contracts import eip712
from gateway.api.deps import (
    ContextDep,
    ReadSessionDep,
    SessionDep,
    WriteSessionDep,
    read_view,
)
from gateway.api.errors import problem_responses
from gateway.api.permits import TradesRead
from gateway.trading import direct, records, retry, views
from gateway.trading import rfq as rfqs
from gateway.trading import terms as trade_terms
from gateway.trading.announcer_dep import AnnouncerDep
from gateway.trading.deps import ChainDep, Trader
from gateway.trading.schemas import (
    AcceptQuote,
    DirectTradeCreate,
    QuoteCreate,
    QuotePublic,
    RfqCreate,
    RfqPublic,
    RfqsPublic,
    TradePublic,
    TradesPublic,
    TypedDataDocument,
    TypedDataPublic,
)

router = APIRouter(tags=["trading"], responses=problem_responses(401, 403, 404, 409, 413, 422, 429))
Limit = Annotated[int, Query(ge=1, le=200)]


@router.post("/rfqs", response_model=RfqPublic, status_code=201)
def create_rfq(
    body: RfqCreate, principal: Trader, session: SessionDep, hub: ChainDep, announce: AnnouncerDep
) -> RfqPublic:
    """Ask chosen lenders (or all) for a repo; they quote rate and haircut until the quote deadline."""
    now = hub.now()  # the chain's clock before the write transaction opens (gateway.chain.guard)
    rfq = rfqs.create_rfq(
        session,
        hub,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        body=body,
        now=now,
    )
    announce.rfq_created(session, rfq)
    return rfqs.rfq_public(session, rfq, principal.organization_id, principal.is_operator)


@router.get("/rfqs", response_model=RfqsPublic, status_code=200)
def list_rfqs(
    principal: TradesRead,
    session: WriteSessionDep,  # expires what is overdue
    status: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> RfqsPublic:
    """Requests the organization asked or was asked, newest first (cursor pagination)."""
    rows, next_cursor = rfqs.list_rfqs(
        session, organization_id=principal.organization_id, status=status, cursor=cursor, limit=limit
    )
    for rfq in rows:
        rfqs.expire_if_due(session, rfq)
    data = [rfqs.rfq_public(session, r, principal.organization_id, principal.is_operator) for r in rows]
    return RfqsPublic(data=data, next_cursor=next_cursor)


@router.get("/rfqs/{rfq_id}", response_model=RfqPublic, status_code=200)
def get_rfq(rfq_id: uuid.UUID, principal: TradesRead, session: WriteSessionDep) -> RfqPublic:
    rfq = rfqs.load_rfq(
        session, rfq_id=rfq_id, organization_id=principal.organization_id, is_operator=principal.is_operator
    )
    return rfqs.rfq_public(session, rfq, principal.organization_id, principal.is_operator)


@router.post("/rfqs/{rfq_id}/quotes", response_model=QuotePublic, status_code=201)
def submit_quote(
    rfq_id: uuid.UUID, body: QuoteCreate, principal: Trader, session: SessionDep, announce: AnnouncerDep
) -> QuotePublic:
    """A lender quotes (a second quote replaces its first)."""
    rfq = rfqs.load_rfq(session, rfq_id=rfq_id, organization_id=principal.organization_id, is_operator=False)
    quote = rfqs.submit_quote(
        session,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        rfq=rfq,
        body=body,
    )
    announce.quote_submitted(rfq, quote)
    return rfqs.quote_public(quote)


@router.post("/rfqs/{rfq_id}/accept", response_model=TradePublic, status_code=201)
def accept_quote(
    rfq_id: uuid.UUID,
    body: AcceptQuote,
    principal: Trader,
    session: SessionDep,
    hub: ChainDep,
    announce: AnnouncerDep,
) -> TradePublic:
    """The borrower accepts one quote; the others expire; the trade's EIP-712 terms are fixed."""
    now = hub.now()  # the chain's clock before the write transaction opens (gateway.chain.guard)
    rfq = rfqs.load_rfq(session, rfq_id=rfq_id, organization_id=principal.organization_id, is_operator=False)
    trade = rfqs.accept_quote(
        session,
        hub,
        actor=principal.actor,
        organization_id=principal.organization_id,
        rfq=rfq,
        quote_id=body.quote_id,
        now=now,
    )
    announce.rfq_accepted(session, rfq)
    return views.trade_public(session, trade)


@router.post("/trades", response_model=TradePublic, status_code=201)
def create_direct_trade(
    body: DirectTradeCreate, principal: Trader, read: ReadSessionDep, session: SessionDep, hub: ChainDep
) -> TradePublic:
    """Direct bilateral terms with a named counterparty wallet; both sides then sign."""
    now = hub.now()  # the chain's clock before the write transaction opens (gateway.chain.guard)
    trade = direct.create_direct(
        session,
        hub,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        body=body,
        now=now,
    )
    return views.trade_view_after_commit(
        read, session, trade_id=trade.id, organization_id=principal.organization_id, is_operator=principal.is_operator
    )


@router.get("/trades", response_model=TradesPublic, status_code=200)
async def list_trades(
    principal: TradesRead,
    ctx: ContextDep,
    session: SessionDep,
    status: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> TradesPublic:
    """Newest first (cursor pagination): two indexed queries, read on the event loop where reads never wait
    (``read_view``; a thread hop per request cost more than the page), else in the thread pool."""

    def view() -> TradesPublic:
        rows, next_cursor = views.list_trades(
            session, organization_id=principal.organization_id, status=status, cursor=cursor, limit=limit
        )
        return TradesPublic(data=views.trades_public(session, rows), next_cursor=next_cursor)

    return await read_view(ctx, view)


@router.get("/trades/{trade_id}", response_model=TradePublic, status_code=200)
async def get_trade(trade_id: uuid.UUID, principal: TradesRead, ctx: ContextDep, session: SessionDep) -> TradePublic:
    def view() -> TradePublic:
        return views.trade_view(
            session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=principal.is_operator
        )

    return await read_view(ctx, view)


@router.get("/trades/{trade_id}/typed-data", response_model=TypedDataPublic, status_code=200)
def get_typed_data(trade_id: uuid.UUID, principal: TradesRead, session: SessionDep) -> TypedDataPublic:
    """The EIP-712 document a self-held wallet signs (eth_signTypedData_v4)."""
    trade = records.load_trade(
        session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=principal.is_operator
    )
    document = TypedDataDocument.model_validate(eip712.for_wallets(trade_terms.typed_data(trade)))
    return TypedDataPublic(primary_type="RepoTerms", typed_data=document, digest=trade.terms_digest)


@router.post("/trades/{trade_id}/retry", response_model=TradePublic, status_code=200)
def retry_trade(trade_id: uuid.UUID, principal: Trader, session: SessionDep, hub: ChainDep) -> TradePublic:
    """A trade whose open failed (or whose signing deadline passed) gets fresh terms (new nonce, start and
    deadline; same economics): both sides sign again."""
    now = hub.now()  # the chain's clock before the write transaction opens (gateway.chain.guard)
    trade = records.load_trade(session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=False)
    retry.retry(session, hub, trade=trade, actor=principal.actor, now=now)
    return views.trade_public(session, trade)
