"""/v1/gc reads: the baskets, an instrument's anonymous depth, trades and daily fixing, and a member's own orders and
fills."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from gateway.api.deps import PageQuery, ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketRead, TradesRead
from gateway.db import pages
from gateway.matching import baskets, market_data, queries
from gateway.matching.instruments import MAX_FORWARD_START_DAYS, Instrument, Tenor
from gateway.matching.levels import DepthLevel
from gateway.matching.models import GcFill, GcOrder
from gateway.matching.orders import Side
from gateway.matching.schemas import (
    DepthLevelPublic,
    DepthPublic,
    GcBasketPublic,
    GcBasketsPublic,
    GcFillPublic,
    GcFillsPublic,
    GcFixingPublic,
    GcOrderPublic,
    GcOrdersPublic,
    GcTradePublic,
    GcTradesPublic,
)

router = APIRouter(prefix="/gc", tags=["gc"], responses=problem_responses(401, 403, 422, 429))


def _levels(levels: list[DepthLevel]) -> list[DepthLevelPublic]:
    return [DepthLevelPublic(rate=str(d.rate_e18), total_units=str(d.total_units), orders=d.orders) for d in levels]


@router.get("/baskets", response_model=GcBasketsPublic, status_code=200)
def list_baskets(principal: MarketRead, read: ReadSessionDep) -> GcBasketsPublic:
    """Every listed GC basket: its cash token, eligible bonds with haircuts, standard terms and the hash orders sign."""
    return GcBasketsPublic(data=[GcBasketPublic.model_validate(row) for row in baskets.all_baskets(read)])


@router.get("/depth", response_model=DepthPublic, status_code=200)
def book_depth(
    principal: MarketRead,
    read: ReadSessionDep,
    basket_id: Annotated[str, Query(min_length=1, max_length=64)],
    tenor: Tenor,
    forward_start_days: Annotated[int, Query(ge=0, le=MAX_FORWARD_START_DAYS)] = 0,
    levels: Annotated[int, Query(ge=1, le=50)] = 10,
) -> DepthPublic:
    """Anonymous depth of one instrument (basket × tenor, optionally forward-starting): rates, cash, order counts."""
    instrument = Instrument(basket_id, tenor, forward_start_days)
    sides = queries.depth(read, instrument, levels=levels)
    return DepthPublic(
        basket_id=basket_id,
        tenor=tenor.value,
        forward_start_days=forward_start_days,
        lend=_levels(sides[Side.LEND]),
        borrow=_levels(sides[Side.BORROW]),
    )


@router.get("/orders", response_model=GcOrdersPublic, status_code=200)
def list_orders(principal: TradesRead, read: ReadSessionDep, page: PageQuery) -> GcOrdersPublic:
    """The member's own GC orders, newest first (``order=oldest`` for the other way), a page at a time."""
    query = select(GcOrder).where(GcOrder.organization_id == principal.organization_id)
    rows, next_cursor = pages.finish(
        read.scalars(pages.keyset(query, page, GcOrder.created_at, GcOrder.id)).all(),
        page,
        lambda o: (o.created_at, o.id),
    )
    return GcOrdersPublic(data=[GcOrderPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/fills", response_model=GcFillsPublic, status_code=200)
def list_fills(principal: TradesRead, read: ReadSessionDep, page: PageQuery) -> GcFillsPublic:
    """The member's own fills, newest first: each one's amount, rate, status and the repo it opened. The
    counterparty is the repo's other party (``/v1/repos/{id}``)."""
    mine = select(GcOrder.id).where(GcOrder.organization_id == principal.organization_id)
    query = select(GcFill).where(or_(GcFill.lend_order_id.in_(mine), GcFill.borrow_order_id.in_(mine)))
    rows, next_cursor = pages.finish(
        read.scalars(pages.keyset(query, page, GcFill.created_at, GcFill.sequence)).all(),
        page,
        lambda f: (f.created_at, f.sequence),
    )
    own = set(
        read.scalars(mine.where(GcOrder.id.in_({r.lend_order_id for r in rows} | {r.borrow_order_id for r in rows})))
    )
    data = [
        GcFillPublic(
            sequence=r.sequence,
            order_id=r.lend_order_id if r.lend_order_id in own else r.borrow_order_id,
            side=Side.LEND.value if r.lend_order_id in own else Side.BORROW.value,
            basket_id=r.basket_id,
            tenor=r.tenor,
            forward_start_days=r.forward_start_days,
            rate=r.rate,
            amount_units=r.amount_units,
            status=r.status,
            opens_at=dt.datetime.fromtimestamp(r.opens_at, dt.UTC) if r.opens_at is not None else None,
            repo_id=r.repo_id,
            collateral_token=r.collateral_token,
            collateral_amount=r.collateral_amount,
            failure=r.failure,
            created_at=r.created_at,
        )
        for r in rows
    ]
    return GcFillsPublic(data=data, next_cursor=next_cursor)


@router.get("/trades", response_model=GcTradesPublic, status_code=200)
def list_trades(
    principal: MarketRead,
    read: ReadSessionDep,
    page: PageQuery,
    basket_id: Annotated[str, Query(min_length=1, max_length=64)],
    tenor: Tenor,
    forward_start_days: Annotated[int, Query(ge=0, le=MAX_FORWARD_START_DAYS)] = 0,
) -> GcTradesPublic:
    """One instrument's settled fills, newest first, anonymous: rate, amount, time."""
    query = select(GcFill).where(
        GcFill.basket_id == basket_id,
        GcFill.tenor == tenor.value,
        GcFill.forward_start_days == forward_start_days,
        GcFill.status == market_data.SETTLED,
    )
    rows, next_cursor = pages.finish(
        read.scalars(pages.keyset(query, page, GcFill.created_at, GcFill.sequence)).all(),
        page,
        lambda f: (f.created_at, f.sequence),
    )
    data = [
        GcTradePublic(
            sequence=r.sequence,
            basket_id=r.basket_id,
            tenor=r.tenor,
            rate=r.rate,
            amount_units=r.amount_units,
            created_at=r.created_at,
        )
        for r in rows
    ]
    return GcTradesPublic(data=data, next_cursor=next_cursor)


@router.get("/fixings", response_model=GcFixingPublic, status_code=200)
def daily_fixing(
    principal: MarketRead,
    read: ReadSessionDep,
    basket_id: Annotated[str, Query(min_length=1, max_length=64)],
    tenor: Tenor,
    date: dt.date,
) -> GcFixingPublic:
    """The instrument's fixing for a UTC day: the volume-weighted rate of its settled fills."""
    found = market_data.fixing(read, basket_id=basket_id, tenor=tenor.value, day=date)
    return GcFixingPublic(
        basket_id=found.basket_id,
        tenor=found.tenor,
        date=found.day.isoformat(),
        rate=None if found.rate is None else str(found.rate),
        volume_units=str(found.volume_units),
        fills=found.fills,
    )
