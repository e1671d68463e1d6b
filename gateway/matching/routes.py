"""/v1/gc: the GC order book's market data and a member's own orders (reads; order entry is the next piece)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from gateway.api.deps import PageQuery, ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketRead, TradesRead
from gateway.db import pages
from gateway.matching import queries
from gateway.matching.instruments import Instrument, Tenor
from gateway.matching.levels import DepthLevel
from gateway.matching.models import GcOrder
from gateway.matching.orders import Side
from gateway.matching.schemas import DepthLevelPublic, DepthPublic, GcOrderPublic, GcOrdersPublic

router = APIRouter(prefix="/gc", tags=["gc"], responses=problem_responses(401, 403, 422, 429))


def _levels(levels: list[DepthLevel]) -> list[DepthLevelPublic]:
    return [DepthLevelPublic(rate=str(d.rate_e18), total_units=str(d.total_units), orders=d.orders) for d in levels]


@router.get("/depth", response_model=DepthPublic, status_code=200)
def book_depth(
    principal: MarketRead,
    read: ReadSessionDep,
    basket_id: Annotated[str, Query(min_length=1, max_length=64)],
    tenor: Tenor,
    forward_start_days: Annotated[int, Query(ge=0, le=366)] = 0,
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
